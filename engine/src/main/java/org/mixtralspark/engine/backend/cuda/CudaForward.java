package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The forward pass on the device: one step over a batch of tokens from any number of sequences, with the blocks and
 * names of {@link org.mixtralspark.engine.backend.cpu.BatchForward} (which is the reference it is tested against).
 * The host plans the step ({@link StepPlan}), sends it in one copy, launches the kernels in order on the default
 * stream, and copies the wanted logits back; sampling stays on the CPU (the engine's {@code SequenceSampler}), so
 * every sampling option works the same on both backends.
 */
final class CudaForward implements AutoCloseable {

    private final CudaKernels k;
    private final DeviceWeights w;
    private final DeviceKvCache kv;
    private final DeviceMemory mem;
    private final MixtralConfig c;
    private final MoeBlock moe;
    private final int headsPerBlock;
    private final int sms;
    private final int qkvRows;
    private final float scale;
    private final DeviceBuffer invFreq; // (headDim / 2) double: MixtralConfig.ropeInverseFrequencies, as Rope
    private StepBuffers buf;
    private DeviceBuffer ints;
    private PinnedBuffer intsHost;
    private DeviceBuffer logits;        // (capacity, vocab) fp32
    private PinnedBuffer logitsHost;
    private int logitCapacity;

    CudaForward(CudaKernels k, DeviceWeights w, DeviceKvCache kv, DeviceMemory mem, int stepTokens, int sms) {
        this.k = k;
        this.w = w;
        this.kv = kv;
        this.mem = mem;
        this.c = w.layout.c();
        this.sms = sms;
        if (c.headDim() > 128) {
            throw new IllegalArgumentException("head_dim = " + c.headDim() + ": the CUDA attention kernel supports "
                    + "at most 128; use --device cpu");
        }
        for (int dim : new int[] {c.dim(), c.hiddenDim(), c.qDim()}) {
            if (dim % 8 != 0) {
                throw new IllegalArgumentException("the CUDA matrix products need widths that are multiples of 8; "
                        + "this model has " + dim + "; use --device cpu");
            }
        }
        this.moe = new MoeBlock(k, w, sms);
        this.headsPerBlock = StepPlan.headsPerBlock(c.groupSize());
        this.qkvRows = c.qDim() + 2 * c.kvDim();
        this.scale = (float) (1.0 / Math.sqrt(c.headDim()));
        double[] inv = c.ropeInverseFrequencies(); // the CPU's table: rope_scaling applied in one place
        this.invFreq = mem.allocate("rope_inv_freq", (long) inv.length * Double.BYTES);
        invFreq.copyFromHost(Pointer.to(inv), 0, (long) inv.length * Double.BYTES);
        this.buf = new StepBuffers(c, k.precision(), stepTokens, mem);
        ensureInts(8 * stepTokens + 1024);
        ensureLogits(Math.min(stepTokens, 256));
    }

    /** See {@link org.mixtralspark.engine.backend.ModelRunner#forward}. */
    float[] forward(StepInput.Tokens step) {
        int[] tokens = step.ids();
        int n = tokens.length;
        int m = step.logitRows().length;
        int vocab = c.vocabSize();
        for (int t : tokens) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (n == 0) {
            return new float[0];
        }
        if (n > buf.tokens) {
            int grown = Math.max(n, 2 * buf.tokens);
            buf.close();
            buf = new StepBuffers(c, k.precision(), grown, mem);
        }
        StepPlan plan = StepPlan.build(step, kv.blockSize, headsPerBlock, buf.maxItems);
        ensureInts(plan.ints.length);
        intsHost.buffer().asIntBuffer().put(plan.ints);
        ints.copyFromHost(intsHost.pointer(), 0, (long) plan.ints.length * Integer.BYTES);
        CUdeviceptr tokensP = ints.at(4L * plan.offTokens);
        CUdeviceptr positionsP = ints.at(4L * plan.offPositions);
        CUdeviceptr slotsP = ints.at(4L * plan.offSlots);
        CUdeviceptr logitRowsP = ints.at(4L * plan.offLogitRows);
        CUdeviceptr tokenTileP = ints.at(4L * plan.offTokenTile);
        CUdeviceptr tablesP = ints.at(4L * plan.offTables);
        CUdeviceptr tilesP = ints.at(4L * plan.offTiles);
        CUdeviceptr itemsP = ints.at(4L * plan.offItems);
        int dim = c.dim();
        float eps = c.rmsEps();

        // x = embed_tokens[tokens], (T, dim)
        k.embed(w.embedding.ptr(), tokensP, buf.x.ptr(), n, dim);
        for (int l = 0; l < c.layers(); l++) {
            // attention rmsnorm
            k.rmsnorm(buf.x.ptr(), null, w.attnNorm[l].ptr(), null, buf.xn.ptr(), n, dim, eps);

            // qkv matmul, (T, qDim + 2 kvDim)
            dense(buf.xn, w.wqkv[l], buf.qkv, n, qkvRows, dim, false);

            // RoPE, then k and v into each token's cache slot
            k.ropeStore(buf.qkv.ptr(), positionsP, slotsP, invFreq.ptr(), kv.keys[l].ptr(), kv.values[l].ptr(), n,
                    qkvRows, c.heads(), c.kvHeads(), c.headDim());

            // grouped-query attention over each token's own sequence, causal: partials per item, then merged
            k.attentionSplit(buf.qkv.ptr(), qkvRows, kv.keys[l].ptr(), kv.values[l].ptr(), positionsP, tablesP,
                    plan.maxBlocks, kv.blockSize, tilesP, itemsP, plan.items, buf.attnPart.ptr(), buf.attnMl.ptr(),
                    c.heads(), c.kvHeads(), c.headDim(), headsPerBlock, scale);
            k.attentionMerge(buf.attnPart.ptr(), buf.attnMl.ptr(), tilesP, tokenTileP, buf.attn.ptr(), n, c.heads(),
                    c.headDim(), headsPerBlock, plan.tiles, plan.items);

            // output projection, residual back into x
            dense(buf.attn, w.wo[l], buf.x, n, dim, c.qDim(), true);

            // ffn rmsnorm (fp32 for the router, W for the experts), MoE FFN, residual back into x
            k.rmsnorm(buf.x.ptr(), null, w.ffnNorm[l].ptr(), buf.xnF.ptr(), buf.xn.ptr(), n, dim, eps);
            moe.forward(l, buf, n);
        }

        // final rmsnorm of the wanted rows, LM head
        if (m == 0) {
            return new float[0];
        }
        k.rmsnorm(buf.x.ptr(), logitRowsP, w.outputNorm.ptr(), null, buf.last.ptr(), m, dim, eps);
        ensureLogits(m);
        dense(buf.last, w.lmHead, logits, m, vocab, dim, false);
        long count = (long) m * vocab;
        logits.copyToHost(logitsHost.pointer(), 0, count * Float.BYTES); // waits for the step's kernels
        float[] out = new float[(int) count];
        logitsHost.buffer().asFloatBuffer().get(out);
        return out;
    }

    /** out (rows, cols) [+]= a (rows, k) . weight (cols, k)^T. */
    private void dense(DeviceBuffer a, DeviceBuffer weight, DeviceBuffer out, int rows, int cols, int kDim,
                       boolean accumulate) {
        int rowTiles = (rows + CudaKernels.GEMM_TILE_ROWS - 1) / CudaKernels.GEMM_TILE_ROWS;
        GemmPlan plan = GemmPlan.of(rows, cols, kDim, rowTiles, sms);
        k.gemm(a.ptr(), null, 1, weight.ptr(), 0, out.ptr(), rows, cols, kDim, null, null, rowTiles, accumulate,
                plan.splits(), plan.kSplit(), buf.splitK.ptr());
    }

    private void ensureInts(int count) {
        long bytes = (long) count * Integer.BYTES;
        if (ints != null && ints.bytes() >= bytes) {
            return;
        }
        long grown = Math.max(bytes, ints == null ? 0 : 2 * ints.bytes());
        if (ints != null) {
            ints.close();
            intsHost.close();
        }
        ints = mem.allocate("step_ints", grown);
        intsHost = new PinnedBuffer(ints.bytes());
    }

    private void ensureLogits(int rows) {
        if (rows <= logitCapacity) {
            return;
        }
        int grown = Math.max(rows, 2 * logitCapacity);
        if (logits != null) {
            logits.close();
            logitsHost.close();
        }
        long bytes = (long) grown * c.vocabSize() * Float.BYTES;
        logits = mem.allocate("logits", bytes);
        logitsHost = new PinnedBuffer(bytes);
        logitCapacity = grown;
    }

    @Override
    public void close() {
        if (logits != null) {
            logits.close();
            logitsHost.close();
        }
        if (ints != null) {
            ints.close();
            intsHost.close();
        }
        buf.close();
        invFreq.close();
    }
}
