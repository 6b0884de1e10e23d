package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import org.mixtralspark.engine.tensor.WeightMatrix;
import org.mixtralspark.engine.model.ExpertWeights;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;

import java.nio.ByteBuffer;

/**
 * The model's weights resident on one device, in the layout of {@link DeviceWeightLayout}: uploaded from a checkpoint
 * (converted on the host, streamed through a pinned staging buffer) or, for benchmarks, generated on the device by a
 * kernel (a full-size 8x7B without an 87 GiB file). Immutable once built; freed by {@link #close()}.
 */
final class DeviceWeights implements AutoCloseable {

    /** Staging buffer for uploads. */
    static final long STAGING_BYTES = 64L << 20;

    final DeviceWeightLayout layout;
    final DeviceBuffer embedding;  // (vocab, dim) W
    final DeviceBuffer lmHead;     // (vocab, dim) W
    final DeviceBuffer outputNorm; // (dim) fp32
    final DeviceBuffer[] attnNorm; // per layer (dim) fp32
    final DeviceBuffer[] ffnNorm;  // per layer (dim) fp32
    final DeviceBuffer[] router;   // per layer (experts, dim) fp32; null entries for a dense model
    final DeviceBuffer[] wqkv;     // per layer (qDim + 2 kvDim, dim) W
    final DeviceBuffer[] wo;       // per layer (dim, qDim) W
    final DeviceBuffer[] w13;      // per layer (experts, 2 hidden, dim) W
    final DeviceBuffer[] w2;       // per layer (experts, dim, hidden) W

    private DeviceWeights(DeviceWeightLayout layout, DeviceMemory mem) {
        this.layout = layout;
        MixtralConfig c = layout.c();
        int bytes = layout.precision().bytes;
        int n = c.layers();
        attnNorm = new DeviceBuffer[n];
        ffnNorm = new DeviceBuffer[n];
        router = new DeviceBuffer[n];
        wqkv = new DeviceBuffer[n];
        wo = new DeviceBuffer[n];
        w13 = new DeviceBuffer[n];
        w2 = new DeviceBuffer[n];
        embedding = mem.allocate("token_embd", layout.embeddingElements() * bytes);
        lmHead = mem.allocate("lm_head", layout.embeddingElements() * bytes);
        outputNorm = mem.allocate("output_norm", (long) c.dim() * Float.BYTES);
        for (int l = 0; l < n; l++) {
            attnNorm[l] = mem.allocate("blk." + l + ".attn_norm", (long) c.dim() * Float.BYTES);
            ffnNorm[l] = mem.allocate("blk." + l + ".ffn_norm", (long) c.dim() * Float.BYTES);
            router[l] = c.isMoe() ? mem.allocate("blk." + l + ".router", layout.routerFloats() * Float.BYTES) : null;
            wqkv[l] = mem.allocate("blk." + l + ".wqkv", layout.wqkvElements() * bytes);
            wo[l] = mem.allocate("blk." + l + ".wo", layout.woElements() * bytes);
            w13[l] = mem.allocate("blk." + l + ".w13", c.experts() * layout.w13ExpertElements() * bytes);
            w2[l] = mem.allocate("blk." + l + ".w2", c.experts() * layout.w2ExpertElements() * bytes);
        }
    }

    /** Uploads a loaded checkpoint. The caller closes {@code mem} on failure. */
    static DeviceWeights upload(MixtralWeights w, Precision p, DeviceMemory mem) {
        MixtralConfig c = w.config();
        DeviceWeights d = new DeviceWeights(new DeviceWeightLayout(c, p), mem);
        try (Uploader up = new Uploader(p, c)) {
            up.matrix(w.tokenEmbedding(), c.vocabSize(), c.dim(), d.embedding, 0);
            up.matrix(w.lmHead(), c.vocabSize(), c.dim(), d.lmHead, 0);
            up.floats(w.outputNorm(), d.outputNorm);
            long rowBytes = (long) c.dim() * p.bytes;
            for (int l = 0; l < c.layers(); l++) {
                LayerWeights lw = w.layers()[l];
                up.floats(lw.attnNorm(), d.attnNorm[l]);
                up.floats(lw.ffnNorm(), d.ffnNorm[l]);
                if (c.isMoe()) {
                    if (lw.router() == null) {
                        throw new IllegalArgumentException("layer " + l + ": a MoE model without router weights");
                    }
                    up.floats(lw.router(), d.router[l]);
                }
                up.matrix(lw.wq(), c.qDim(), c.dim(), d.wqkv[l], 0);
                up.matrix(lw.wk(), c.kvDim(), c.dim(), d.wqkv[l], c.qDim() * rowBytes);
                up.matrix(lw.wv(), c.kvDim(), c.dim(), d.wqkv[l], (long) (c.qDim() + c.kvDim()) * rowBytes);
                up.matrix(lw.wo(), c.dim(), c.qDim(), d.wo[l], 0);
                if (lw.experts().length != c.experts()) {
                    throw new IllegalArgumentException("layer " + l + ": " + lw.experts().length + " experts, the "
                            + "config says " + c.experts());
                }
                for (int e = 0; e < c.experts(); e++) {
                    ExpertWeights ew = lw.experts()[e];
                    long w13At = e * d.layout.w13ExpertElements() * p.bytes;
                    up.matrix(ew.gate(), c.hiddenDim(), c.dim(), d.w13[l], w13At);
                    up.matrix(ew.up(), c.hiddenDim(), c.dim(), d.w13[l], w13At + (long) c.hiddenDim() * rowBytes);
                    up.matrix(ew.down(), c.dim(), c.hiddenDim(), d.w2[l], e * d.layout.w2ExpertElements() * p.bytes);
                }
            }
        }
        return d;
    }

    /**
     * Random weights generated on the device, with the scales of the oracle's generator (shared/oracle README 1.1):
     * embedding N(0, 1)-like, norms 1 ± 0.1, q/k/v 1/sqrt(dim), o 1/sqrt(qDim), router 4/sqrt(dim), w1/w3 1/sqrt(dim),
     * w2 1/sqrt(hidden), LM head 4/sqrt(dim); uniform values with those standard deviations.
     */
    static DeviceWeights random(MixtralConfig c, Precision p, long seed, DeviceMemory mem, CudaKernels k) {
        DeviceWeights d = new DeviceWeights(new DeviceWeightLayout(c, p), mem);
        boolean bf16 = p == Precision.BF16;
        long[] s = {seed * 7919};
        Filler fill = (buf, n, mean, std, asW) -> k.fillRandom(buf.ptr(), n, ++s[0], mean, std, asW && bf16);
        double dim = c.dim();
        fill.fill(d.embedding, d.layout.embeddingElements(), 0f, 1f, true);
        fill.fill(d.lmHead, d.layout.embeddingElements(), 0f, (float) (4 / Math.sqrt(dim)), true);
        fill.fill(d.outputNorm, c.dim(), 1f, 0.1f, false);
        for (int l = 0; l < c.layers(); l++) {
            fill.fill(d.attnNorm[l], c.dim(), 1f, 0.1f, false);
            fill.fill(d.ffnNorm[l], c.dim(), 1f, 0.1f, false);
            if (d.router[l] != null) {
                fill.fill(d.router[l], d.layout.routerFloats(), 0f, (float) (4 / Math.sqrt(dim)), false);
            }
            fill.fill(d.wqkv[l], d.layout.wqkvElements(), 0f, (float) (1 / Math.sqrt(dim)), true);
            fill.fill(d.wo[l], d.layout.woElements(), 0f, (float) (1 / Math.sqrt(c.qDim())), true);
            fill.fill(d.w13[l], c.experts() * d.layout.w13ExpertElements(), 0f, (float) (1 / Math.sqrt(dim)), true);
            fill.fill(d.w2[l], c.experts() * d.layout.w2ExpertElements(), 0f,
                    (float) (1 / Math.sqrt(c.hiddenDim())), true);
        }
        return d;
    }

    @FunctionalInterface
    private interface Filler {
        void fill(DeviceBuffer buf, long n, float mean, float std, boolean storageType);
    }

    /** Frees every buffer (DeviceMemory.close would too; this lets the weights go before the engine does). */
    @Override
    public void close() {
        for (DeviceBuffer[] group : new DeviceBuffer[][] {w2, w13, wo, wqkv, router, ffnNorm, attnNorm}) {
            for (DeviceBuffer b : group) {
                if (b != null) {
                    b.close();
                }
            }
        }
        outputNorm.close();
        lmHead.close();
        embedding.close();
    }

    /** Streams host rows through a pinned staging buffer. */
    private static final class Uploader implements AutoCloseable {

        private final Precision p;
        private final PinnedBuffer staging;
        private final float[] row;

        Uploader(Precision p, MixtralConfig c) {
            this.p = p;
            this.staging = new PinnedBuffer(STAGING_BYTES);
            this.row = new float[Math.max(c.dim(), Math.max(c.hiddenDim(), c.qDim()))];
        }

        void matrix(WeightMatrix m, int rows, int cols, DeviceBuffer dst, long dstOffset) {
            if (m.rows() != rows || m.cols() != cols) {
                throw new IllegalArgumentException(m.name() + ": expected (" + rows + ", " + cols + ") for the device"
                        + " layout, got (" + m.rows() + ", " + m.cols() + ")");
            }
            long rowBytes = WeightConversion.rowBytes(m, p);
            int perChunk = (int) Math.max(1, staging.bytes() / rowBytes);
            for (int r = 0; r < rows; r += perChunk) {
                int n = Math.min(perChunk, rows - r);
                ByteBuffer b = staging.buffer();
                b.clear();
                WeightConversion.rows(m, r, n, p, b, row);
                dst.copyFromHost(staging.pointer(), dstOffset + r * rowBytes, n * rowBytes);
            }
        }

        void floats(float[] v, DeviceBuffer dst) {
            dst.copyFromHost(Pointer.to(v), 0, (long) v.length * Float.BYTES);
        }

        @Override
        public void close() {
            staging.close();
        }
    }
}
