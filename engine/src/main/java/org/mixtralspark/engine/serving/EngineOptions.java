package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kv.KvType;

import java.io.Serializable;

/**
 * How to run a model. Serializable: a Spark job builds it on the driver and ships it to the executors, each of which
 * opens its engine with it.
 *
 * @param device        "auto" (CUDA device 0 when a device and our kernels are present, else CPU), "cpu", "cuda"
 *                      (device 0) or "cuda:N" (device N, e.g. the GPU address Spark's resource discovery gave)
 * @param threads       CPU threads for the forward pass; 0 = every available processor
 * @param maxBatchSize  most sequences in one forward step
 * @param contextLength longest sequence accepted (prompt + generation); 0 = the model's own context length
 * @param kvCacheBytes  memory for the paged KV cache; 0 = enough for maxBatchSize full-context sequences, capped at a
 *                      quarter of the JVM's maximum heap (the CPU cache lives on the heap)
 * @param weightMemory  on the CPU, where the weight matrices (quantised, F16, BF16; not F32) live: "mapped" (the
 *                      default, as DESIGN §5 has it: read from the memory-mapped file, copied run by run; no heap
 *                      needed, and the page cache is shared between JVMs), "heap" (copied into Java arrays at load;
 *                      the kernels read them in place, 1.4-2x faster for few tokens; the heap must hold them) or
 *                      "auto" (heap when they fit in the free heap next to the KV cache, else mapped)
 * @param cpuMath       on the CPU, the numeric mode of the matrix products (DESIGN §5): "fast" (the default:
 *                      activations quantised to int8 per 32 values, as llama.cpp does, on the native kernels; where the native
 *                      library cannot load, the Java kernels, and the load log says why) or "exact" (fp32 activations
 *                      on the Java kernels, the mode the oracle tests pin); {@code -Dmixtral.cpu.math} overrides it
 * @param prefixCache   whether a request whose prompt starts like an earlier one's reuses the keys and values of the
 *                      shared whole blocks instead of computing them again (on by default; off computes every prompt
 *                      token, e.g. to measure what caching saves)
 * @param kvType        how the CPU's KV cache stores keys and values: "f16" (the default, as llama.cpp's; half the
 *                      memory of f32, so twice the sequences or context), "bf16", or "f32" (exact; what the oracle
 *                      comparisons use). The CUDA backend keeps its cache in its own precision and ignores this.
 */
public record EngineOptions(String device, int threads, int maxBatchSize, int contextLength, long kvCacheBytes,
                            String weightMemory, String cpuMath, boolean prefixCache, String kvType)
        implements Serializable {

    private static final long serialVersionUID = 3L;

    /** The default of {@link #cpuMath}. */
    public static final String DEFAULT_CPU_MATH = "fast";

    /** The default of {@link #kvType}. */
    public static final String DEFAULT_KV_TYPE = "f16";

    public EngineOptions(String device, int threads, int maxBatchSize, int contextLength) {
        this(device, threads, maxBatchSize, contextLength, 0, "mapped");
    }

    public EngineOptions(String device, int threads, int maxBatchSize, int contextLength, long kvCacheBytes,
                         String weightMemory) {
        this(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, DEFAULT_CPU_MATH, true,
                DEFAULT_KV_TYPE);
    }

    public EngineOptions(String device, int threads, int maxBatchSize, int contextLength, long kvCacheBytes,
                         String weightMemory, String cpuMath) {
        this(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, cpuMath, true,
                DEFAULT_KV_TYPE);
    }

    public EngineOptions(String device, int threads, int maxBatchSize, int contextLength, long kvCacheBytes,
                         String weightMemory, boolean prefixCache, String kvType) {
        this(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, DEFAULT_CPU_MATH, prefixCache,
                kvType);
    }

    public EngineOptions {
        if (device == null || !(device.equals("auto") || device.equals("cpu") || device.equals("cuda")
                || device.matches("cuda:[0-9]{1,4}"))) {
            throw new IllegalArgumentException("device = " + device + ": must be auto, cpu, cuda or cuda:N");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads = " + threads + ": must be >= 0 (0 = all processors)");
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max batch size = " + maxBatchSize + ": must be >= 1");
        }
        if (kvCacheBytes < 0) {
            throw new IllegalArgumentException("KV cache bytes = " + kvCacheBytes + ": must be >= 0 (0 = automatic)");
        }
        if (weightMemory == null || !(weightMemory.equals("auto") || weightMemory.equals("heap")
                || weightMemory.equals("mapped"))) {
            throw new IllegalArgumentException("weight memory = " + weightMemory + ": must be auto, heap or mapped");
        }
        if (cpuMath == null || !(cpuMath.equals("fast") || cpuMath.equals("exact"))) {
            throw new IllegalArgumentException("CPU math = " + cpuMath + ": must be fast or exact");
        }
        kvType = KvType.parse(kvType).optionName();
        if (contextLength < 0) {
            throw new IllegalArgumentException("context length = " + contextLength + ": must be >= 0 (0 = model's)");
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions("auto", 0, 32, 0);
    }

    public EngineOptions withDevice(String d) {
        return new EngineOptions(d, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withThreads(int t) {
        return new EngineOptions(device, t, maxBatchSize, contextLength, kvCacheBytes, weightMemory, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withMaxBatchSize(int b) {
        return new EngineOptions(device, threads, b, contextLength, kvCacheBytes, weightMemory, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withContextLength(int c) {
        return new EngineOptions(device, threads, maxBatchSize, c, kvCacheBytes, weightMemory, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withKvCacheBytes(long bytes) {
        return new EngineOptions(device, threads, maxBatchSize, contextLength, bytes, weightMemory, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withWeightMemory(String where) {
        return new EngineOptions(device, threads, maxBatchSize, contextLength, kvCacheBytes, where, cpuMath,
                prefixCache, kvType);
    }

    public EngineOptions withCpuMath(String mode) {
        return new EngineOptions(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, mode,
                prefixCache, kvType);
    }

    public EngineOptions withPrefixCache(boolean on) {
        return new EngineOptions(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, cpuMath,
                on, kvType);
    }

    public EngineOptions withKvType(String type) {
        return new EngineOptions(device, threads, maxBatchSize, contextLength, kvCacheBytes, weightMemory, cpuMath,
                prefixCache, type);
    }

    /** The KV cache's storage type. */
    public KvType kvStorage() {
        return KvType.parse(kvType);
    }

    /** The longest sequence the engine accepts for a model of {@code modelContext} positions. */
    public int effectiveContextLength(int modelContext) {
        return contextLength == 0 ? modelContext : Math.min(contextLength, modelContext);
    }

    public int effectiveThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
