package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Split-K is used for few rows only, with K ranges that are multiples of 32 and never empty. */
class GemmPlanTest {

    @ParameterizedTest(name = "rows {0}, cols {1}, k {2}, tiles {3}")
    @CsvSource({
            // decode on an H200 (132 SMs): split until there are about 4 blocks per SM
            "2, 4096, 14336, 2, true",
            "1, 4096, 4096, 1, true",
            "2, 28672, 4096, 2, false",
            "1, 32000, 4096, 1, true",
            // prefill and large batches: never
            "512, 4096, 4096, 8, false",
            "64, 28672, 4096, 8, false",
            // short K: never
            "1, 64, 64, 1, false",
            "1, 64, 200, 1, false",
    })
    void splitsOnlyWhereItHelps(int rows, int cols, int k, int tiles, boolean split) {
        GemmPlan p = GemmPlan.of(rows, cols, k, tiles, 132);
        assertEquals(split, p.splits() > 1, p.toString());
        assertEquals(0, p.kSplit() % 32, "K range is a multiple of the 32-wide pipeline tile");
        assertTrue((long) p.splits() * p.kSplit() >= k, "the ranges cover K");
        assertTrue((long) (p.splits() - 1) * p.kSplit() < k, "no empty range");
        assertTrue(p.splits() <= CudaKernels.SPLIT_K_MAX);
        assertTrue(p.workspaceFloats(rows, cols)
                <= (long) CudaKernels.SPLIT_K_MAX * CudaKernels.SPLIT_K_MAX_ROWS * Math.max(cols, 32000));
    }
}
