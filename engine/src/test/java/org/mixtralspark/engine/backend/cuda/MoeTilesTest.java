package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.model.mixtral.Routing;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The grid of the CUDA MoE block's grouped products ({@link MoeBlock#maxTiles}) covers every tile moe_group cuts,
 * on the host: the tiles are counted from the shared {@link Routing}'s expert counts as moe_group cuts them (each
 * expert's rows in tiles of {@link CudaKernels#GEMM_TILE_ROWS}), for balanced, skewed and single-expert routings.
 */
class MoeTilesTest {

    @ParameterizedTest(name = "T {0}, {1} experts, top {2}, skew {3}")
    @CsvSource({
            "1, 8, 2, 0", "7, 8, 2, 0", "33, 8, 2, 0", "500, 8, 2, 0", "4096, 8, 2, 0",
            "500, 8, 2, 8", "4096, 8, 2, 8", "65, 5, 3, 4", "1000, 64, 8, 0", "1000, 64, 8, 6",
            "1, 1, 1, 0", "64, 1, 1, 0", "65, 1, 1, 0", "3000, 1, 1, 0",
    })
    void gridCoversEveryTileOfEveryRouting(int tokens, int experts, int k, double skew) {
        SplittableRandom rnd = new SplittableRandom(tokens * 31L + experts);
        for (int trial = 0; trial < 20; trial++) {
            Routing routing;
            if (experts == 1) {
                routing = Routing.dense(tokens);
            } else {
                float[] logits = new float[tokens * experts];
                for (int i = 0; i < logits.length; i++) {
                    int e = i % experts;
                    // skew: one expert per trial is favoured, so its group spans many tiles
                    logits[i] = (float) (rnd.nextGaussian() + (e == trial % experts ? skew : 0));
                }
                routing = Routing.route(logits, tokens, experts, k);
            }
            int tiles = 0;
            for (int count : routing.expertCounts()) {
                tiles += (count + CudaKernels.GEMM_TILE_ROWS - 1) / CudaKernels.GEMM_TILE_ROWS;
            }
            int pairs = tokens * k;
            assertTrue(tiles <= MoeBlock.maxTiles(pairs, experts), tiles + " tiles, grid "
                    + MoeBlock.maxTiles(pairs, experts));
            assertTrue(MoeBlock.maxTiles(pairs, experts) <= pairs, "no more grid rows than pairs");
        }
    }
}
