package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.model.MixtralConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device memory plan: a model that does not fit is named with every size; the KV cache takes what is left. */
class MemoryBudgetTest {

    private static final long GIB = 1L << 30;
    private static final MixtralConfig C = MixtralConfig.mixtral8x7b();
    private static final long WEIGHTS = new DeviceWeightLayout(C, Precision.BF16).totalBytes();
    private static final long STEP = StepBuffers.bytesFor(C, Precision.BF16, 512);
    private static final long PER_BLOCK = DeviceKvCache.bytesPerBlock(C, Precision.BF16, 16);

    @Test
    void mixtral8x7bDoesNotFitOnAn80GiBCardAndTheMessageNamesTheSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryBudget.plan(
                "Mixtral-8x7B (bf16)", "cuda:0 (NVIDIA A100 80GB)", 79 * GIB, 80 * GIB, 0, WEIGHTS, STEP,
                PER_BLOCK, 16, 256, 0, 64 * GIB));
        String m = e.getMessage();
        assertTrue(m.startsWith("Mixtral-8x7B (bf16) does not fit on cuda:0 (NVIDIA A100 80GB): weights 87.0 GiB"),
                m);
        assertTrue(m.contains("KV cache at least 512.0 MiB (256 blocks of 16 positions)"), m);
        assertTrue(m.contains("79.0 GiB free of 80.0 GiB, less 1.6 GiB headroom"), m);
        assertTrue(m.contains("--device cpu"), m);
    }

    @Test
    void onAnH200TheKvCacheTakesWhatTheEngineCanUseWithinWhatIsLeft() {
        long total = 139 * GIB;
        long free = 138 * GIB;
        MemoryBudget plan = MemoryBudget.plan("m", "cuda:0", free, total, 0, WEIGHTS, STEP, PER_BLOCK, 16, 256, 0,
                10 * GIB);
        assertEquals(free - MemoryBudget.headroom(total), plan.budget());
        assertEquals(10 * GIB / PER_BLOCK, plan.kvBlocks());
        MemoryBudget greedy = MemoryBudget.plan("m", "cuda:0", free, total, 0, WEIGHTS, STEP, PER_BLOCK, 16, 256, 0,
                Long.MAX_VALUE / 4);
        long left = greedy.budget() - WEIGHTS - STEP;
        assertEquals(left / PER_BLOCK, greedy.kvBlocks());
        assertTrue(greedy.weightBytes() + greedy.stepBytes() + greedy.kvBytes() <= greedy.budget());
    }

    @Test
    void anExplicitKvBudgetThatDoesNotFitIsRejectedWithWhatWouldFit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryBudget.plan("m",
                "cuda:0", 138 * GIB, 139 * GIB, 0, WEIGHTS, STEP, PER_BLOCK, 16, 256, 100 * GIB, 0));
        assertTrue(e.getMessage().startsWith("a KV cache of 100.0 GiB does not fit on cuda:0"), e.getMessage());
        assertTrue(e.getMessage().contains("ask for at most"), e.getMessage());
    }

    @Test
    void anExplicitEngineBudgetReplacesFreeMemory() {
        MemoryBudget plan = MemoryBudget.plan("m", "cuda:0", 138 * GIB, 139 * GIB, 100 * GIB, WEIGHTS, STEP,
                PER_BLOCK, 16, 256, 0, Long.MAX_VALUE / 4);
        assertEquals(100 * GIB, plan.budget());
    }
}
