package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host's plan of a step: slots, block tables, attention tiles and items, and the packed layout. */
class StepPlanTest {

    private static int[] slice(StepPlan p, int off, int n) {
        return Arrays.copyOfRange(p.ints, off, off + n);
    }

    private static int[] tile(StepPlan p, int i) {
        return slice(p, p.offTiles + 4 * i, 4);
    }

    private static int[] item(StepPlan p, int i) {
        return slice(p, p.offItems + 3 * i, 3);
    }

    @Test
    void headsPerBlockIsTheLargestDivisorOfTheGroupUpTo16() {
        assertEquals(4, StepPlan.headsPerBlock(4));
        assertEquals(2, StepPlan.headsPerBlock(2));
        assertEquals(1, StepPlan.headsPerBlock(1));
        assertEquals(16, StepPlan.headsPerBlock(32));
        assertEquals(12, StepPlan.headsPerBlock(24));
        assertEquals(1, StepPlan.headsPerBlock(17));
    }

    @Test
    void prefillTokensShareTilesAndSlotsFollowTheBlockTable() {
        BlockAllocator a = new BlockAllocator(16, 4);
        a.reserve(new BlockTable(), 8); // blocks 0, 1 elsewhere
        BlockTable seq = new BlockTable();
        a.reserve(seq, 10); // blocks 2, 3, 4
        int n = 10;
        int[] tokens = new int[n];
        int[] positions = new int[n];
        BlockTable[] tables = new BlockTable[n];
        for (int t = 0; t < n; t++) {
            tokens[t] = 100 + t;
            positions[t] = t;
            tables[t] = seq;
        }
        // 4 heads per block -> 4 tokens per tile: tiles of 4, 4, 2
        StepPlan p = plan(tokens, positions, tables, new int[] {9}, 4, 4, 4096);
        assertEquals(3, p.tiles);
        assertArrayEquals(new int[] {0, 4, 0, 0}, tile(p, 0));
        assertArrayEquals(new int[] {4, 4, 0, 1}, tile(p, 1));
        assertArrayEquals(new int[] {8, 2, 0, 2}, tile(p, 2));
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 2, 2}, slice(p, p.offTokenTile, n));
        // one item per tile: [0, last position + 1)
        assertEquals(3, p.items);
        assertArrayEquals(new int[] {0, 0, 4}, item(p, 0));
        assertArrayEquals(new int[] {1, 0, 8}, item(p, 1));
        assertArrayEquals(new int[] {2, 0, 10}, item(p, 2));
        // slot = block * 4 + offset, blocks 2, 3, 4
        assertArrayEquals(new int[] {8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, slice(p, p.offSlots, n));
        assertArrayEquals(tokens, slice(p, p.offTokens, n));
        assertArrayEquals(positions, slice(p, p.offPositions, n));
        assertArrayEquals(new int[] {9}, slice(p, p.offLogitRows, 1));
        assertEquals(1, p.sequences);
        assertArrayEquals(seq.toArray(), slice(p, p.offTables, p.maxBlocks));
    }

    @Test
    void decodeTokensOfDifferentSequencesAreTilesOfOneAndTablesArePadded() {
        BlockAllocator a = new BlockAllocator(64, 16);
        BlockTable s0 = new BlockTable();
        BlockTable s1 = new BlockTable();
        a.reserve(s0, 40); // 3 blocks
        a.reserve(s1, 5);  // 1 block
        StepPlan p = plan(new int[] {1, 2}, new int[] {39, 4}, new BlockTable[] {s0, s1},
                new int[] {0, 1}, 16, 4, 4096);
        assertEquals(2, p.tiles);
        assertEquals(2, p.sequences);
        assertEquals(3, p.maxBlocks);
        assertArrayEquals(new int[] {0, 1, 0, 0}, tile(p, 0));
        assertArrayEquals(new int[] {1, 1, 1, 1}, tile(p, 1));
        int[] tables = slice(p, p.offTables, 6);
        assertArrayEquals(s0.toArray(), Arrays.copyOfRange(tables, 0, 3));
        assertArrayEquals(new int[] {s1.block(0), 0, 0}, Arrays.copyOfRange(tables, 3, 6));
        assertEquals(s0.block(2) * 16 + 7, p.ints[p.offSlots]);
    }

    @Test
    void aSequenceBreakOrAPositionGapStartsANewTile() {
        BlockAllocator a = new BlockAllocator(8, 16);
        BlockTable s0 = new BlockTable();
        BlockTable s1 = new BlockTable();
        a.reserve(s0, 16);
        a.reserve(s1, 16);
        StepPlan p = plan(new int[] {1, 2, 3, 4}, new int[] {0, 1, 0, 1},
                new BlockTable[] {s0, s0, s1, s1}, new int[] {1, 3}, 16, 2, 4096);
        assertEquals(2, p.tiles);
        assertArrayEquals(new int[] {0, 2, 0, 0}, tile(p, 0));
        assertArrayEquals(new int[] {2, 2, 1, 1}, tile(p, 1));
    }

    @Test
    void longContextsAreSplitIntoItemsAndTheSplitGrowsToFitTheWorkspace() {
        BlockAllocator a = new BlockAllocator(128, 16);
        BlockTable s = new BlockTable();
        a.reserve(s, 1000);
        StepPlan p = plan(new int[] {7}, new int[] {999}, new BlockTable[] {s}, new int[] {0}, 16, 4, 4096);
        assertEquals(StepPlan.BASE_SPLIT, p.splitLen);
        assertEquals(4, p.items); // 1000 positions in 256s
        assertArrayEquals(new int[] {0, 0, 256}, item(p, 0));
        assertArrayEquals(new int[] {0, 768, 1000}, item(p, 3));
        StepPlan small = plan(new int[] {7}, new int[] {999}, new BlockTable[] {s}, new int[] {0}, 16, 4, 2);
        assertEquals(512, small.splitLen); // 1000 positions: 4 items of 256 > 2, 2 of 512 fit
        assertEquals(2, small.items);
    }

    @Test
    void positionsOutsideTheTableAndBadLogitRowsAreRejected() {
        BlockAllocator a = new BlockAllocator(8, 16);
        BlockTable s = new BlockTable();
        a.reserve(s, 16);
        assertThrows(IllegalArgumentException.class, () -> plan(new int[] {1}, new int[] {16},
                new BlockTable[] {s}, new int[] {0}, 16, 4, 4096));
        assertThrows(IllegalArgumentException.class, () -> plan(new int[] {1}, new int[] {3},
                new BlockTable[] {s}, new int[] {1}, 16, 4, 4096));
    }
    /**
     * The plan of a step given per token, with the sequences the scheduler would have listed: each run of
     * consecutive tokens with one block table is one sequence.
     */
    private static StepPlan plan(int[] tokens, int[] positions, BlockTable[] tables, int[] logitRows, int blockSize,
                                 int headsPerBlock, int maxItems) {
        int[] sequenceOf = new int[tokens.length];
        for (int t = 1; t < tokens.length; t++) {
            sequenceOf[t] = sequenceOf[t - 1] + (tables[t] == tables[t - 1] ? 0 : 1);
        }
        return StepPlan.build(new StepInput.Tokens(tokens, positions, tables, sequenceOf, logitRows), blockSize,
                headsPerBlock, maxItems);
    }

    @Test
    void aStepInputFlattensToThePlanOfItsTokens() {
        BlockAllocator a = new BlockAllocator(16, 4);
        BlockTable s0 = new BlockTable();
        BlockTable s1 = new BlockTable();
        a.reserve(s0, 6);
        a.reserve(s1, 3);
        StepInput step = new StepInput(List.of(new StepInput.Sequence(new int[] {5}, 5, s0, true),
                new StepInput.Sequence(new int[] {7, 8, 9}, 0, s1, true)));
        StepPlan p = StepPlan.build(step.tokens(), 4, 4, 4096);
        assertEquals(2, p.sequences);
        assertArrayEquals(new int[] {5, 7, 8, 9}, slice(p, p.offTokens, 4));
        assertArrayEquals(new int[] {5, 0, 1, 2}, slice(p, p.offPositions, 4));
        assertArrayEquals(new int[] {0, 3}, slice(p, p.offLogitRows, 2));
        assertArrayEquals(new int[] {s0.block(1) * 4 + 1, s1.block(0) * 4, s1.block(0) * 4 + 1, s1.block(0) * 4 + 2},
                slice(p, p.offSlots, 4));
    }

    @Test
    void aSequenceSplitAcrossTheStepIsRejected() {
        BlockAllocator a = new BlockAllocator(8, 16);
        BlockTable s0 = new BlockTable();
        BlockTable s1 = new BlockTable();
        a.reserve(s0, 16);
        a.reserve(s1, 16);
        StepInput.Tokens split = new StepInput.Tokens(new int[] {1, 2, 3}, new int[] {0, 0, 1},
                new BlockTable[] {s0, s1, s0}, new int[] {0, 1, 0}, new int[] {2});
        assertThrows(IllegalArgumentException.class, () -> StepPlan.build(split, 16, 4, 4096));
    }
}
