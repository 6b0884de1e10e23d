package org.mixtralspark.engine.backend.cuda;

/**
 * How one matrix product is cut: its grid and, for few rows, split-K. A decode step's products have 1 to 32 rows;
 * their time is the time to stream the weights, and a grid of ceil(N / 64) column tiles is too few blocks to keep
 * enough loads in flight on 132 multiprocessors for, e.g., the (4096, 14336) down projection. Splitting K gives
 * each block a slice of the columns' K range; splitk_reduce adds the slices in a fixed order, so the result does
 * not depend on timing.
 *
 * @param splits   K ranges (gridDim.z); 1 = no split
 * @param kSplit   the length of each range, a multiple of 32
 */
record GemmPlan(int splits, int kSplit) {

    /** Blocks we want in flight: a few per multiprocessor. */
    static final int BLOCKS_PER_SM = 4;
    /** The shortest K range worth a block: 4 pipeline tiles of 32. */
    static final int MIN_K_SPLIT = 128;

    /**
     * @param rows      output rows m
     * @param cols      output columns n
     * @param k         the reduced dimension
     * @param rowTiles  the row tiles the grid will have (an estimate for grouped products)
     * @param sms       multiprocessors of the device
     */
    static GemmPlan of(int rows, int cols, int k, int rowTiles, int sms) {
        int whole = roundUp(k, 32);
        if (rows > CudaKernels.SPLIT_K_MAX_ROWS || k < 2 * MIN_K_SPLIT) {
            return new GemmPlan(1, whole);
        }
        long blocks = (long) ((cols + CudaKernels.GEMM_TILE_COLS - 1) / CudaKernels.GEMM_TILE_COLS)
                * Math.max(1, rowTiles);
        long wanted = (long) BLOCKS_PER_SM * sms;
        int splits = (int) Math.min(CudaKernels.SPLIT_K_MAX, Math.max(1, (wanted + blocks - 1) / blocks));
        splits = Math.min(splits, k / MIN_K_SPLIT);
        if (splits <= 1) {
            return new GemmPlan(1, whole);
        }
        int kSplit = roundUp((k + splits - 1) / splits, 32);
        return new GemmPlan((k + kSplit - 1) / kSplit, kSplit); // no empty range
    }

    /** Floats of split-K workspace a product of {@code rows} x {@code cols} needs under this plan. */
    long workspaceFloats(int rows, int cols) {
        return splits > 1 ? (long) splits * rows * cols : 0;
    }

    private static int roundUp(int v, int m) {
        return (v + m - 1) / m * m;
    }
}
