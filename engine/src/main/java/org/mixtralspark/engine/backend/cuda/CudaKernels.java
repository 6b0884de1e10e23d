package org.mixtralspark.engine.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Typed launches of our kernels (src/main/cuda), one method per kernel with the kernel's shapes in its comment.
 * Templated kernels are picked by the {@link Precision} ({@code _bf16} or {@code _f32}). Every launch is on the
 * default stream, so the kernels of a step run in order. With {@code syncEach} every launch is followed by a
 * synchronisation, so that a fault is reported with the name of the kernel that caused it (slow; for the first
 * runs on a new GPU and for tests).
 */
final class CudaKernels {

    /** Rows of a matrix-product tile (gemm.cu BM); moe_group cuts expert groups into tiles of this many rows. */
    static final int GEMM_TILE_ROWS = 64;
    /** Columns of a matrix-product tile (gemm.cu BN). */
    static final int GEMM_TILE_COLS = 64;
    /** Most splits of split-K, and the most output rows for which it is used. */
    static final int SPLIT_K_MAX = 8;
    static final int SPLIT_K_MAX_ROWS = 32;

    private final CudaDevice device;
    private final Precision precision;
    private final boolean syncEach;

    CudaKernels(CudaDevice device, Precision precision, boolean syncEach) {
        this.device = device;
        this.precision = precision;
        this.syncEach = syncEach;
    }

    Precision precision() {
        return precision;
    }

    private void launch(String kernel, int gx, int gy, int gz, int block, KernelArgs args) {
        if (gx == 0 || gy == 0 || gz == 0) {
            return;
        }
        try {
            JCudaDriver.cuLaunchKernel(device.function(kernel), gx, gy, gz, block, 1, 1, 0, null,
                    args.toPointer(), null);
            if (syncEach) {
                device.synchronize();
            }
        } catch (RuntimeException e) {
            throw new IllegalStateException(device.label() + ": kernel " + kernel + " grid (" + gx + ", " + gy + ", "
                    + gz + ") x " + block + " failed: " + e.getMessage()
                    + (syncEach ? "" : " (the fault may come from an earlier kernel: rerun with "
                    + "-Dmixtral.cuda.sync=true to find it)"), e);
        }
    }

    private String t(String name) {
        return name + precision.kernelSuffix;
    }

    /** x (n, dim) fp32 = table[tokens], table (vocab, dim) in W. */
    void embed(CUdeviceptr table, CUdeviceptr tokens, CUdeviceptr x, int n, int dim) {
        launch(t("embed"), n, 1, 1, 256, new KernelArgs().ptr(table).ptr(tokens).ptr(x).i32(dim));
    }

    /**
     * out row i = rmsnorm(x row rows[i] (or i)) * weight, rows (n) or null; outF (n, dim) fp32 and/or outW (n, dim)
     * in W, either may be null.
     */
    void rmsnorm(CUdeviceptr x, CUdeviceptr rows, CUdeviceptr weight, CUdeviceptr outF, CUdeviceptr outW, int n,
                 int dim, float eps) {
        launch(t("rmsnorm"), n, 1, 1, 256,
                new KernelArgs().ptr(x).ptr(rows).ptr(weight).ptr(outF).ptr(outW).i32(dim).f32(eps));
    }

    /** RoPE on q and k of qkv (n, qkvStride) in place, then k and v into the caches (slots, kvDim) at slots (n). */
    void ropeStore(CUdeviceptr qkv, CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr invFreq,
                   CUdeviceptr kCache, CUdeviceptr vCache, int n, int qkvStride, int heads, int kvHeads,
                   int headDim) {
        launch(t("rope_store"), n, 1, 1, 128, new KernelArgs().ptr(qkv).ptr(positions).ptr(slots).ptr(invFreq)
                .ptr(kCache).ptr(vCache).i32(qkvStride).i32(heads).i32(kvHeads).i32(headDim));
    }

    /** Partial attention of every (item, head group); see attention.cu and {@link StepPlan}. */
    void attentionSplit(CUdeviceptr qkv, int qkvStride, CUdeviceptr kCache, CUdeviceptr vCache,
                        CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks, int blockSize,
                        CUdeviceptr tiles, CUdeviceptr items, int nItems, CUdeviceptr partAcc, CUdeviceptr partMl,
                        int heads, int kvHeads, int headDim, int headsPerBlock, float scale) {
        launch(t("attention_split"), nItems, heads / headsPerBlock, 1, 128, new KernelArgs().ptr(qkv).i32(qkvStride)
                .ptr(kCache).ptr(vCache).ptr(positions).ptr(blockTables).i32(maxBlocks).i32(blockSize).ptr(tiles)
                .ptr(items).ptr(partAcc).ptr(partMl).i32(heads).i32(kvHeads).i32(headDim).i32(headsPerBlock)
                .f32(scale));
    }

    /** out (n, heads * headDim) in W = the merged partials of each token's items. */
    void attentionMerge(CUdeviceptr partAcc, CUdeviceptr partMl, CUdeviceptr tiles, CUdeviceptr tokenTile,
                        CUdeviceptr out, int n, int heads, int headDim, int headsPerBlock, int nTiles, int nItems) {
        launch(t("attention_merge"), n, heads, 1, 128, new KernelArgs().ptr(partAcc).ptr(partMl).ptr(tiles)
                .ptr(tokenTile).ptr(out).i32(heads).i32(headDim).i32(headsPerBlock).i32(nTiles).i32(nItems));
    }

    /** chosen (n, k), weights (n, k) = top-k of softmax(router (E, dim) . xn (n, dim)); router null: dense. */
    void moeRoute(CUdeviceptr xn, CUdeviceptr router, CUdeviceptr chosen, CUdeviceptr weights, int n, int dim,
                  int experts, int k) {
        launch("moe_route", n, 1, 1, 256,
                new KernelArgs().ptr(xn).ptr(router).ptr(chosen).ptr(weights).i32(dim).i32(experts).i32(k));
    }

    /** Groups the nPairs (token, slot) pairs by expert; tiles (3 * maxTiles), nTiles (1). */
    void moeGroup(CUdeviceptr chosen, int nPairs, int experts, CUdeviceptr sortedPair, CUdeviceptr pairPos,
                  CUdeviceptr tiles, CUdeviceptr nTiles) {
        launch("moe_group", 1, 1, 1, 32, new KernelArgs().ptr(chosen).i32(nPairs).i32(experts)
                .i32(GEMM_TILE_ROWS).ptr(sortedPair).ptr(pairPos).ptr(tiles).ptr(nTiles));
    }

    /** h (P, H) in W = silu(gu[:, :H]) * gu[:, H:], gu (P, 2H) fp32. */
    void swiglu(CUdeviceptr gu, CUdeviceptr h, int hidden, long total) {
        launch(t("swiglu"), (int) ((total + 255) / 256), 1, 1, 256,
                new KernelArgs().ptr(gu).ptr(h).i32(hidden).i64(total));
    }

    /** x (n, dim) += sum over each token's k experts of weight * y[pairPos] (expert order). */
    void moeCombine(CUdeviceptr x, CUdeviceptr y, CUdeviceptr pairPos, CUdeviceptr chosen, CUdeviceptr weights,
                    int n, int k, int dim) {
        launch("moe_combine", n, 1, 1, 256,
                new KernelArgs().ptr(x).ptr(y).ptr(pairPos).ptr(chosen).ptr(weights).i32(k).i32(dim));
    }

    /**
     * C (m, n) fp32 [+]= A (m, k) . W (n, k)^T; see gemm.cu for aRows/aDiv (gathered A rows), wStride (elements
     * between experts) and tiles/nTiles (grouped mode, gridTiles an upper bound on their count). With
     * {@code splits > 1}, partial must hold splits x m x n floats.
     */
    void gemm(CUdeviceptr a, CUdeviceptr aRows, int aDiv, CUdeviceptr w, long wStride, CUdeviceptr c, int m, int n,
              int k, CUdeviceptr tiles, CUdeviceptr nTiles, int gridTiles, boolean accumulate, int splits,
              int kSplit, CUdeviceptr partial) {
        if (k % 8 != 0) {
            throw new IllegalArgumentException("matrix products need K % 8 == 0, got K = " + k);
        }
        String kernel = precision == Precision.BF16 ? "gemm_bf16" : "gemm_f32";
        int block = precision == Precision.BF16 ? 128 : 256;
        launch(kernel, (n + GEMM_TILE_COLS - 1) / GEMM_TILE_COLS, gridTiles, splits, block, new KernelArgs().ptr(a)
                .ptr(aRows).i32(aDiv).ptr(w).i64(wStride).ptr(c).i32(m).i32(n).i32(k).ptr(tiles).ptr(nTiles)
                .i32(accumulate ? 1 : 0).i32(kSplit).ptr(partial));
        if (splits > 1) {
            long mn = (long) m * n;
            launch("splitk_reduce", (int) Math.min(4096, (mn + 255) / 256), 1, 1, 256,
                    new KernelArgs().ptr(partial).ptr(c).i64(mn).i32(splits).i32(accumulate ? 1 : 0));
        }
    }

    /** n values at p: mean + std * U(-sqrt 3, sqrt 3) from a hash of (seed, index); bf16 or fp32 storage. */
    void fillRandom(CUdeviceptr p, long n, long seed, float mean, float std, boolean bf16) {
        launch(bf16 ? "fill_random_bf16" : "fill_random_f32", (int) Math.min(65536, (n + 255) / 256), 1, 1, 256,
                new KernelArgs().ptr(p).i64(n).i64(seed).f32(mean).f32(std));
    }
}
