package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.serving.EngineOptions;
import picocli.CommandLine.Option;

/** Flags that choose how the engine runs. */
final class EngineOptionsMixin {

    @Option(names = "--device", description = "auto, cpu, cuda or cuda:N (default ${DEFAULT-VALUE}).")
    String device = "auto";

    @Option(names = "--threads", description = "CPU threads; 0 = all processors (default ${DEFAULT-VALUE}).")
    int threads = 0;

    @Option(names = "--max-batch-size", description = "Most sequences in one step (default ${DEFAULT-VALUE}).")
    int maxBatchSize = 32;

    @Option(names = "--context-length", description = "Longest sequence; 0 = the model's (default ${DEFAULT-VALUE}).")
    int contextLength = 0;

    @Option(names = "--weight-memory", description = "CPU: where the weights live: mapped (the file's pages, no heap "
            + "needed), heap (copied at load: 1.4-2x faster decoding; give the JVM the room, e.g. "
            + "MIXTRAL_JAVA_OPTS=-Xmx16g) or auto: heap if they fit (default ${DEFAULT-VALUE}).")
    String weightMemory = "mapped";

    @Option(names = "--cpu-math", description = "CPU: the numeric mode of the matrix products: fast (activations "
            + "quantised to int8 per 32 values, as llama.cpp does, on the native kernels; the Java kernels where the "
            + "native library cannot load) or exact (fp32 activations, the oracle-pinned mode) (default "
            + "${DEFAULT-VALUE}; -Dmixtral.cpu.math overrides it).")
    String cpuMath = EngineOptions.DEFAULT_CPU_MATH;

    @Option(names = "--prefix-cache", description = "on: a prompt that starts like an earlier one reuses the keys and "
            + "values of the shared whole blocks; off: every prompt token is computed (default ${DEFAULT-VALUE}).")
    OnOff prefixCache = OnOff.on;

    @Option(names = "--kv-type", description = "CPU: how the KV cache stores keys and values: f16 (half the memory of "
            + "f32, as llama.cpp's default), bf16, or f32 (exact) (default ${DEFAULT-VALUE}).")
    String kvType = EngineOptions.DEFAULT_KV_TYPE;

    /** A switch spelled on|off on the command line. */
    enum OnOff { on, off }

    EngineOptions toOptions() {
        return new EngineOptions(device, threads, maxBatchSize, contextLength).withWeightMemory(weightMemory)
                .withCpuMath(cpuMath).withPrefixCache(prefixCache == OnOff.on).withKvType(kvType);
    }
}
