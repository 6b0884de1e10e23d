package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockCopy;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.backend.StepOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * The CUDA backend: weights and the paged KV cache resident on one GPU, the forward step in our kernels
 * ({@link CudaForward}), logits copied back for the engine's CPU sampler. Opened with {@link #load} (a checkpoint)
 * or {@link #random} (random weights generated on the device, for benchmarks). The memory is planned before
 * anything is allocated ({@link MemoryBudget}); a model that does not fit gets an error naming the sizes.
 */
public final class CudaModelRunner implements ModelRunner {

    private static final Logger LOG = LoggerFactory.getLogger(CudaModelRunner.class);

    private final MixtralConfig config;
    private final CudaDevice device;
    private final DeviceMemory memory;
    private final DeviceWeights weights;
    private final DeviceKvCache cache;
    private final CudaForward forward;
    private final Precision precision;
    private boolean closed;

    private CudaModelRunner(MixtralConfig config, String what, CudaOptions o,
                            Function<Context, DeviceWeights> makeWeights) {
        this.config = config;
        this.precision = o.precision();
        CudaDevice dev = CudaDevice.open(o.ordinal());
        DeviceMemory mem = null;
        DeviceWeights w = null;
        DeviceKvCache kv = null;
        try {
            dev.bind();
            long[] info = dev.memoryInfo();
            DeviceWeightLayout layout = new DeviceWeightLayout(config, o.precision());
            long stepBytes = StepBuffers.bytesFor(config, o.precision(), o.stepTokens())
                    + 256L * config.vocabSize() * Float.BYTES + (8L * o.stepTokens() + 1024) * Integer.BYTES;
            int blockSize = BlockAllocator.DEFAULT_BLOCK_SIZE;
            long perBlock = DeviceKvCache.bytesPerBlock(config, o.precision(), blockSize);
            long wantedKv = perBlock * ((long) o.contextLength() * o.maxBatchSize() + blockSize - 1) / blockSize;
            int minBlocks = (Math.min(o.contextLength(), 4096) + blockSize - 1) / blockSize;
            MemoryBudget plan = MemoryBudget.plan(what + " (" + o.precision().name().toLowerCase() + ")",
                    dev.label() + " (" + dev.name() + ")", info[0], info[1], o.memoryBudget(),
                    layout.totalBytes(), stepBytes, perBlock, blockSize, minBlocks, o.kvCacheBytes(), wantedKv);
            mem = new DeviceMemory(dev.label(), plan.budget());
            CudaKernels kernels = new CudaKernels(dev, o.precision(), o.syncEachKernel());
            w = makeWeights.apply(new Context(mem, kernels));
            kv = new DeviceKvCache(config, o.precision(), plan.kvBlocks(), blockSize, mem);
            this.forward = new CudaForward(kernels, w, kv, mem, o.stepTokens(), dev.multiprocessors());
            dev.synchronize();
            LOG.info("{} on {} ({}, sm_{}): weights {} in {}, KV cache {} ({} blocks of {} positions), {} of {} "
                            + "device memory in use by this engine", what, dev.label(), dev.name(),
                    dev.computeCapability().replace(".", ""), Bytes.format(layout.totalBytes()),
                    o.precision().name().toLowerCase(), Bytes.format(kv.bytes()), kv.totalBlocks, blockSize,
                    Bytes.format(mem.used()), Bytes.format(dev.totalMemory()));
        } catch (RuntimeException | Error e) {
            if (mem != null) {
                try {
                    mem.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            dev.close();
            throw e;
        }
        this.device = dev;
        this.memory = mem;
        this.weights = w;
        this.cache = kv;
    }

    private record Context(DeviceMemory mem, CudaKernels kernels) {
    }

    /** Uploads a loaded model's weights to the device {@code o} names. */
    public static CudaModelRunner load(MixtralWeights weights, String name, CudaOptions o) {
        MixtralConfig c = weights.config();
        if (c.slidingWindow() > 0 && c.slidingWindow() < o.contextLength()) {
            // TODO: the CUDA attention kernel attends to every position; windowed attention is the CPU's only
            throw new IllegalArgumentException(name + ": sliding_window = " + c.slidingWindow() + " is shorter than "
                    + "the context (" + o.contextLength() + "), and the CUDA backend has no sliding-window attention: "
                    + "use --device cpu, or --context-length " + c.slidingWindow() + " or less");
        }
        return new CudaModelRunner(weights.config(), name, o,
                ctx -> DeviceWeights.upload(weights, o.precision(), ctx.mem()));
    }

    /** A model of shape {@code c} with random weights generated on the device (benchmarks: no file to carry). */
    public static CudaModelRunner random(MixtralConfig c, long seed, CudaOptions o) {
        return new CudaModelRunner(c, "random model", o,
                ctx -> DeviceWeights.random(c, o.precision(), seed, ctx.mem(), ctx.kernels()));
    }

    @Override
    public MixtralConfig config() {
        return config;
    }

    @Override
    public String device() {
        return device.label();
    }

    /** The GPU's name, e.g. "NVIDIA H200". */
    public String deviceName() {
        return device.name();
    }

    public Precision precision() {
        return precision;
    }

    @Override
    public BlockAllocator blocks() {
        return cache.allocator;
    }

    @Override
    public StepOutput forward(StepInput step) {
        device.bind();
        for (BlockCopy copy : step.copies()) {
            cache.copyBlock(copy.from(), copy.to());
        }
        return StepOutput.of(step, forward.forward(step.tokens()), config.vocabSize(), null);
    }

    /** Bytes this engine has allocated on the device. */
    public long deviceBytesInUse() {
        return memory.used();
    }

    /** The device's free and total memory now (every process's allocations counted). */
    public long[] deviceMemoryInfo() {
        device.bind();
        return device.memoryInfo();
    }

    /** Bytes of weights one decode token reads (the decode roofline's numerator). */
    public long activeBytesPerToken() {
        return weights.layout.activeBytesPerToken();
    }

    /** Waits for the device (timing). */
    public void synchronize() {
        device.bind();
        device.synchronize();
    }

    /** The device, for benchmarks that measure it (copy bandwidth). */
    CudaDevice cudaDevice() {
        return device;
    }

    DeviceMemory memory() {
        return memory;
    }

    /** Frees the device memory and releases the device; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        device.bind();
        try {
            forward.close();
            cache.close();
            weights.close();
            memory.close();
        } finally {
            device.close();
        }
    }
}
