package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.MixtralConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * KV bytes per token and how many sequences a 4 GiB KV budget holds on Mixtral 8x7B's shape (issue 10's figures),
 * logged, and checked against the shape DESIGN §2 gives: 32 layers, 8 KV heads of 128, a key and a value each.
 */
class KvCacheSizeTest {

    private static final long BUDGET = 4L << 30;
    private static final int BLOCK = BlockAllocator.DEFAULT_BLOCK_SIZE;

    @Test
    void bytesPerTokenAndSequencesInFourGibOnTheMixtral8x7bShape() {
        MixtralConfig c = MixtralConfig.mixtral8x7b();
        long[] perToken = new long[KvType.values().length];
        for (KvType type : KvType.values()) {
            long bytes = PagedKvCache.bytesPerBlock(c, BLOCK, type) / BLOCK;
            perToken[type.ordinal()] = bytes;
            int blocks = PagedKvCache.blocksForBudget(c, BUDGET, BLOCK, type);
            System.out.printf("8x7B KV %s: %,d bytes per token; 4 GiB holds %,d blocks = %,d tokens: %d sequences of "
                            + "32768 (full context), %d of 4096, %d of 1088 (a 1024-token head, a 64-token tail)%n",
                    type.optionName(), bytes, blocks, (long) blocks * BLOCK, sequences(blocks, 32768),
                    sequences(blocks, 4096), sequences(blocks, 1088));
        }
        assertEquals(2L * 32 * 8 * 128 * 4, perToken[KvType.F32.ordinal()], "256 KiB a token in fp32");
        assertEquals(2L * 32 * 8 * 128 * 2, perToken[KvType.F16.ordinal()], "128 KiB a token in f16");
        assertEquals(perToken[KvType.F16.ordinal()], perToken[KvType.BF16.ordinal()]);
        int f32 = PagedKvCache.blocksForBudget(c, BUDGET, BLOCK, KvType.F32);
        int f16 = PagedKvCache.blocksForBudget(c, BUDGET, BLOCK, KvType.F16);
        assertEquals(1024, f32);
        assertEquals(2 * f32, f16, "f16 holds twice the positions");
        assertEquals(0, sequences(f32, 32768), "a full 32k context does not fit in 4 GiB of fp32 KV");
        assertEquals(1, sequences(f16, 32768));
        assertEquals(4, sequences(f32, 4096));
        assertEquals(8, sequences(f16, 4096));
    }

    /** Sequences of {@code positions} positions each that {@code blocks} blocks hold. */
    private static int sequences(int blocks, int positions) {
        return blocks / ((positions + BLOCK - 1) / BLOCK);
    }
}
