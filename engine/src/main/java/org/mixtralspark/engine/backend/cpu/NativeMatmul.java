package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.WeightMatrix;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link Matmul} on the native kernels ({@link NativeKernels}), the {@code fast} CPU math: {@code out (T, rows) =
 * x (T, cols) @ W^T} with the activations quantised to int8 per 32 values, as llama.cpp multiplies quantised weights
 * (q8_0 activations, with an fp32 scale here); F32 and F16 weights take fp32 activations, BF16 ones bf16 activations
 * on CPUs with AVX512-BF16 (fp32 elsewhere). The calling thread prepares the batch once per call into a reused
 * direct buffer; then the rows are split over the team in groups of 4, as {@link VectorMatmul} splits them, and each
 * worker runs the kernel on its range in one native call, reading the weights in place: a mapped (direct) buffer by
 * address, a heap copy ({@link WeightMatrix#onHeap()}) pinned for the call.
 *
 * <p>Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, F32, F16 and BF16 weights; anything else (another type, float rows whose length is
 * not a multiple of 32, a row map, weights in a read-only heap buffer) goes to the fallback, the exact Java kernels,
 * logged once per reason. Results differ from the fp32 reference by the activations'
 * quantisation (nmse of order 1e-5 to 1e-4 for int8, 1e-6 for bf16; F32 and F16 only by the order of the sums:
 * NativeMatmulTest); a token's result is bit-identical whatever the batch it
 * is in and however many threads run it.
 */
public final class NativeMatmul implements Matmul {

    private static final Logger LOG = LoggerFactory.getLogger(NativeMatmul.class);
    /** Why matrices went to the fallback, each logged once per JVM. */
    private static final Set<String> FALLBACKS_LOGGED = ConcurrentHashMap.newKeySet();

    /** Rows per group handed out to the team (the kernels' row tile). */
    static final int ROW_TILE = 4;
    /** Least weight bytes a thread takes at a time, as {@link VectorMatmul} uses. */
    private static final int MIN_BYTES_PER_CHUNK = 32 << 10;

    private final Matmul fallback;
    private final NativeKernels.Variant variant;
    /** The calling thread's quantised activations, grown as batches need. */
    private final ThreadLocal<ByteBuffer> activations = ThreadLocal.withInitial(() -> null);

    /** Native kernels (the best variant) with the exact Java kernels for the rest; for benchmarks by class name. */
    public NativeMatmul() {
        this(VectorSupport.AVAILABLE ? new VectorMatmul() : new ScalarMatmul());
    }

    /** Native kernels (the best variant), {@code fallback} for what they do not handle. */
    public NativeMatmul(Matmul fallback) {
        this(fallback, NativeKernels.variant());
    }

    /**
     * @throws IllegalStateException when the library is not loaded or the CPU cannot run {@code variant}
     */
    NativeMatmul(Matmul fallback, NativeKernels.Variant variant) {
        if (!NativeKernels.isAvailable() || variant == null || !NativeKernels.supportedVariants().contains(variant)) {
            throw new IllegalStateException("native CPU kernels " + (variant == null ? "" : variant + " ")
                    + "unavailable: " + (NativeKernels.isAvailable() ? "this CPU cannot run them"
                    : NativeKernels.reasonUnavailable()));
        }
        this.fallback = fallback;
        this.variant = variant;
    }

    /** The instruction-set variant this instance runs. */
    public NativeKernels.Variant variant() {
        return variant;
    }

    /** Whether the native kernels take this matrix (else {@link #apply} hands it to the fallback). */
    public static boolean handles(WeightMatrix w) {
        if (!NativeKernels.handles(w.type(), w.cols()) || w.hasRowMap()) {
            return false;
        }
        ByteBuffer data = w.data();
        return w.heap() != null || data.isDirect() || data.hasArray();
    }

    @Override
    public void apply(WeightMatrix w, float[] x, int tokens, float[] out, int outStride, ThreadTeam team) {
        if (!handles(w)) {
            logFallback(w);
            fallback.apply(w, x, tokens, out, outStride, team);
            return;
        }
        int rows = w.rows();
        int cols = w.cols();
        if (tokens < 0 || outStride < rows) {
            throw new IllegalArgumentException("tokens = " + tokens + ", outStride = " + outStride + " for " + w.name()
                    + " with " + rows + " rows");
        }
        if (x.length < (long) tokens * cols) {
            throw new IllegalArgumentException(w.name() + ": x has " + x.length + " floats, " + tokens
                    + " tokens of " + cols + " need " + (long) tokens * cols);
        }
        if (tokens == 0) {
            return;
        }
        if (out.length < (long) (tokens - 1) * outStride + rows) {
            throw new IllegalArgumentException(w.name() + ": out has " + out.length + " floats, " + tokens
                    + " tokens at stride " + outStride + " need " + ((long) (tokens - 1) * outStride + rows));
        }
        ByteBuffer act = activations(NativeKernels.activationBytes(w.type(), tokens, cols));
        NativeKernels.prepare(variant, w.type(), x, tokens, cols, act);
        // the weights as the library reads them: the heap copy, a direct buffer (mapped file), or a heap buffer's array
        ByteBuffer data = w.data();
        Object weights;
        long offset;
        if (w.heap() != null) {
            weights = w.heap();
            offset = 0;
        } else if (data.isDirect()) {
            weights = data;
            offset = 0;
        } else {
            weights = data.array();
            offset = data.arrayOffset();
        }
        int groups = (rows + ROW_TILE - 1) / ROW_TILE;
        long bytesPerGroup = ROW_TILE * w.rowBytes() * Math.max(1, Math.min(tokens, 64) / 4);
        int grain = (int) Math.max(1, MIN_BYTES_PER_CHUNK / bytesPerGroup);
        team.forRange(groups, grain, (start, end) -> NativeKernels.multiply(variant, w.type(), weights, offset,
                w.rowBytes(), rows, cols, start * ROW_TILE, Math.min(rows, end * ROW_TILE), act, tokens, out,
                outStride));
    }

    /** Says once per JVM and reason that matrices like {@code w} run on the fallback (fp32 activations). */
    private void logFallback(WeightMatrix w) {
        String why = !NativeKernels.handles(w.type()) ? "no native kernel for " + w.type() + " weights"
                : !NativeKernels.handles(w.type(), w.cols()) ? w.type() + " rows of " + w.cols() + " values"
                : w.hasRowMap() ? "a row-mapped matrix" : "weights in a read-only heap buffer";
        if (FALLBACKS_LOGGED.add(why)) {
            LOG.info("fast CPU math: {} (first: {}); such matrices run on the exact kernels ({})", why, w.name(),
                    fallback.getClass().getSimpleName());
        }
    }

    private ByteBuffer activations(long need) {
        ByteBuffer b = activations.get();
        if (b == null || b.capacity() < need) {
            // half again as large, so that a batch growing a token at a time does not reallocate on every call
            long grown = b == null ? need : Math.max(need, b.capacity() + (long) b.capacity() / 2);
            b = NativeKernels.allocateActivations(Math.min(grown, Integer.MAX_VALUE - 128));
            activations.set(b);
        }
        return b;
    }
}
