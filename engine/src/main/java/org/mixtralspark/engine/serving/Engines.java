package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kv.BlockAllocator;

import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.CpuModelRunner;

import org.mixtralspark.engine.backend.cuda.CudaAvailability;
import org.mixtralspark.engine.backend.cuda.CudaModelRunner;
import org.mixtralspark.engine.backend.cuda.CudaOptions;
import org.mixtralspark.engine.backend.cpu.VectorSupport;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;
import org.mixtralspark.engine.tokenizer.HfTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/** Opens engines. */
public final class Engines {

    private static final Logger LOG = LoggerFactory.getLogger(Engines.class);

    private Engines() {
    }

    /**
     * Loads the model at {@code model} (an HF checkpoint folder or a GGUF file) and starts an engine on the device
     * the options select.
     *
     * @throws org.mixtralspark.engine.io.ModelFormatException when the files are unusable (naming file and tensor)
     * @throws IllegalArgumentException                         when the options cannot be met (e.g. cuda without a GPU)
     */
    public static Engine open(Path model, EngineOptions options) {
        String device = selectDevice(options.device());
        LoadedModel loaded = ModelLoader.load(model);
        HfTokenizer tokenizer = null;
        try {
            tokenizer = loaded.format().equals("gguf")
                    ? GgufTokenizers.fromMetadata(loaded.metadata(), model + " (tokenizer.chat_template)")
                    : HfTokenizer.load(model);
            if (tokenizer.vocabSize() > loaded.config().vocabSize()) {
                throw new IllegalArgumentException(model + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's vocabulary is " + loaded.config().vocabSize());
            }
            EngineOptions effective = cudaContext(loaded.config(), device, options);
            ModelRunner runner = runner(loaded, device, effective);
            LOG.info("loaded {} ({}, {} layers, {} experts) on {}{}", loaded.name(), loaded.format(),
                    loaded.config().layers(), loaded.config().experts(), runner.device(),
                    runner.device().equals("cpu") ? " with " + options.effectiveThreads() + " threads" : "");
            return new LocalEngine(loaded, tokenizer, tokenizer.chatTemplate(), runner, effective);
        } catch (RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            loaded.close();
            throw e;
        }
    }

    /**
     * The backend on {@code device} ("cpu" or "cuda:N"). An explicit cuda device that cannot take the model fails; with
     * device = auto, a CUDA failure (e.g. the model does not fit) is logged and the CPU takes over.
     */
    private static ModelRunner runner(LoadedModel loaded, String device, EngineOptions options) {
        if (device.startsWith("cuda:")) {
            int context = options.effectiveContextLength(loaded.config().contextLength());
            CudaOptions cuda = CudaOptions.defaults(Integer.parseInt(device.substring(5)), options.maxBatchSize(),
                    context, options.kvCacheBytes());
            try {
                return CudaModelRunner.load(loaded.weights(), loaded.name(), cuda);
            } catch (RuntimeException e) {
                if (!options.device().equals("auto")) {
                    throw e;
                }
                LOG.warn("device = auto: {} could not take the model, using the CPU: {}", device, e.getMessage());
            }
        }
        if (!VectorSupport.AVAILABLE) {
            LOG.warn("the Vector API is off ({}): the CPU runs the scalar kernels, several times slower",
                    VectorSupport.reasonUnavailable());
        }
        long kv = kvBudget(loaded.config(), options);
        MixtralWeights weights = loaded.weights();
        if (weightsOnHeap(options.weightMemory(), weights.heapCopyBytes(), kv)) {
            long t0 = System.nanoTime();
            weights = weights.withWeightsOnHeap();
            LOG.info("copied {} MB of weights to the heap in {} ms", weights.heapCopyBytes() >> 20,
                    (System.nanoTime() - t0) / 1_000_000);
        }
        CpuMath.Selection math = CpuMath.select(CpuMath.resolve(options.cpuMath()));
        LOG.info("CPU math {}: {}", math.mode(), math.kernels());
        return new CpuModelRunner(weights, options.effectiveThreads(), kv, math.matmul(), options.kvStorage());
    }

    /**
     * On CUDA, which has no sliding-window attention, a model with a window shorter than the context runs with the
     * context capped at the window (where full attention is the same thing), as every backend did before the CPU
     * learned the window; the CPU keeps the whole context.
     */
    private static EngineOptions cudaContext(MixtralConfig c, String device, EngineOptions options) {
        int context = options.effectiveContextLength(c.contextLength());
        if (!device.startsWith("cuda:") || c.slidingWindow() == 0 || c.slidingWindow() >= context) {
            return options;
        }
        LOG.info("sliding_window = {}: the CUDA backend attends to every position, so the context is capped at the "
                + "window ({} -> {}); --device cpu keeps the whole context", c.slidingWindow(), context,
                c.slidingWindow());
        return options.withContextLength(c.slidingWindow());
    }

    /** Memory left free on the heap after the weights and the KV cache, for activations and everything else. */
    static final long HEAP_HEADROOM = 512L << 20;

    /**
     * Whether the CPU engine copies the weights (all but F32) to the heap: always for "heap" (an OutOfMemoryError then
     * says the heap is too small), never for "mapped", and for "auto" when they fit in the heap not yet used, next
     * to the KV cache and {@link #HEAP_HEADROOM}.
     */
    static boolean weightsOnHeap(String weightMemory, long copyBytes, long kvBytes) {
        if (copyBytes == 0 || weightMemory.equals("mapped")) {
            return false;
        }
        if (weightMemory.equals("heap")) {
            return true;
        }
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        boolean fits = copyBytes + kvBytes + HEAP_HEADROOM <= free;
        if (!fits) {
            LOG.info("weight memory = auto: {} MB of weights and a {} MB KV cache do not fit in {} MB of free heap; "
                            + "reading them from the mapped file (raise -Xmx for the faster heap copy)",
                    copyBytes >> 20, kvBytes >> 20, free >> 20);
        }
        return fits;
    }

    /** The KV cache budget: the option, or enough for maxBatchSize full-context sequences within heap/4. */
    static long kvBudget(MixtralConfig c, EngineOptions options) {
        return kvBudget(c, options, Runtime.getRuntime().maxMemory());
    }

    /** {@link #kvBudget(MixtralConfig, EngineOptions)} in a JVM whose maximum heap is {@code maxHeap}. */
    static long kvBudget(MixtralConfig c, EngineOptions options, long maxHeap) {
        if (options.kvCacheBytes() > 0) {
            return options.kvCacheBytes();
        }
        int context = options.effectiveContextLength(c.contextLength());
        long perPosition = PagedKvCache.bytesPerBlock(c, 1, options.kvStorage());
        long wanted = perPosition * context * options.maxBatchSize();
        return Math.max(perPosition * BlockAllocator.DEFAULT_BLOCK_SIZE, Math.min(wanted, maxHeap / 4));
    }

    /**
     * "cpu"; "cuda" or "cuda:N" when CUDA is available, else an IllegalArgumentException with the reason; "auto": CUDA
     * device 0 when available, else the CPU, logging why.
     *
     * @return "cpu" or "cuda:N"
     */
    static String selectDevice(String requested) {
        if (requested.equals("cpu")) {
            return "cpu";
        }
        CudaAvailability cuda = CudaAvailability.probe();
        if (requested.equals("auto")) {
            if (cuda.available()) {
                LOG.info("device = auto: using cuda:0 ({})", cuda.describe());
                return "cuda:0";
            }
            LOG.info("device = auto: using the CPU ({})", cuda.describe());
            return "cpu";
        }
        if (!cuda.available()) {
            throw new IllegalArgumentException("device = " + requested + ": " + cuda.describe()
                    + "; use --device cpu or auto");
        }
        return requested.equals("cuda") ? "cuda:0" : requested;
    }
}
