package org.mixtralspark.engine.kv;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The block allocator's reference counts and prefix cache, on blocks of 4 positions. */
class BlockAllocatorTest {

    private static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    /** A table holding {@code tokens} as a sequence that computed them all would: reserved and committed. */
    private static BlockTable computed(BlockAllocator a, int[] tokens) {
        BlockTable t = new BlockTable();
        assertTrue(a.reserve(t, tokens.length + 1));
        int whole = tokens.length / a.blockSize() * a.blockSize();
        a.commit(t, java.util.Arrays.copyOf(tokens, whole));
        return t;
    }

    @Test
    void aSecondSequenceFindsTheWholeBlocksOfTheFirstsPrefixAndSharesThem() {
        BlockAllocator a = new BlockAllocator(16, 4);
        int[] first = tokens(0, 10);               // blocks [0..4) [4..8), then 2 tokens
        BlockTable t1 = computed(a, first);
        assertEquals(2, t1.committedBlocks());
        int[] second = new int[] {0, 1, 2, 3, 4, 5, 6, 7, 99, 98, 97}; // same two blocks, another tail
        BlockTable t2 = new BlockTable();
        assertEquals(8, a.matchPrefix(second, t2));
        assertEquals(t1.block(0), t2.block(0));
        assertEquals(t1.block(1), t2.block(1));
        assertEquals(2, t2.committedBlocks());
        int free = a.freeBlocks();
        a.release(t1);
        assertEquals(free + 1, a.freeBlocks(), "only t1's own third block is free: the first two are t2's too");
    }

    @Test
    void aMatchStopsAtTheFirstDifferenceAndAPrefixIsNotFoundOutOfPlace() {
        BlockAllocator a = new BlockAllocator(16, 4);
        computed(a, tokens(0, 12));
        BlockTable t = new BlockTable();
        // the second block differs: only the first matches, though the third block's tokens are the same
        assertEquals(4, a.matchPrefix(new int[] {0, 1, 2, 3, 40, 5, 6, 7, 8, 9, 10, 11, 12}, t));
        BlockTable u = new BlockTable();
        // the same tokens as the first's second block, but at the start: a different prefix, no match
        assertEquals(0, a.matchPrefix(tokens(4, 9), u));
    }

    @Test
    void atLeastOneTokenIsLeftToComputeSoAPromptOfWholeBlocksMatchesAllButItsLast() {
        BlockAllocator a = new BlockAllocator(16, 4);
        computed(a, tokens(0, 8));
        BlockTable t = new BlockTable();
        assertEquals(4, a.matchPrefix(tokens(0, 8), t));
        BlockTable u = new BlockTable();
        assertEquals(8, a.matchPrefix(tokens(0, 9), u));
    }

    @Test
    void unheldCachedBlocksAreEvictedOldestFirstAndOnlyWhenFreeBlocksRunOut() {
        BlockAllocator a = new BlockAllocator(4, 4);
        BlockTable p = computed(a, tokens(0, 4));     // 2 blocks: one committed, one for the next position
        BlockTable q = computed(a, tokens(100, 4));
        a.release(p);
        a.release(q);
        assertEquals(4, a.freeBlocks());
        assertEquals(2, a.cachedBlocks());
        // two free blocks: no eviction yet
        BlockTable r = new BlockTable();
        assertTrue(a.reserve(r, 8));
        assertEquals(0, a.evictions());
        assertEquals(2, a.cachedBlocks());
        // the third block evicts p's (released first), the fourth q's
        BlockTable s = new BlockTable();
        assertTrue(a.reserve(s, 4));
        assertEquals(1, a.evictions());
        assertEquals(0, a.matchPrefix(tokens(0, 5), new BlockTable()), "p's block was evicted");
        BlockTable q2 = new BlockTable();
        assertEquals(4, a.matchPrefix(tokens(100, 5), q2), "q's is still there");
        a.release(q2);
        assertFalse(a.reserve(new BlockTable(), 8), "all-or-nothing: one block left");
    }

    @Test
    void aHeldBlockIsNeverEvictedAndARematchedBlockLeavesTheEvictionOrder() {
        BlockAllocator a = new BlockAllocator(3, 4);
        BlockTable p = computed(a, tokens(0, 4));
        a.release(p);
        BlockTable again = new BlockTable();
        assertEquals(4, a.matchPrefix(tokens(0, 5), again)); // held again
        assertEquals(2, a.freeBlocks());
        BlockTable other = new BlockTable();
        assertTrue(a.reserve(other, 8));
        assertFalse(a.reserve(new BlockTable(), 1), "the held cached block is not a free one");
        assertEquals(0, a.evictions());
    }

    @Test
    void anIdenticalBlockComputedTwiceKeepsOneFindableCopyAndTheChainGoesOn() {
        BlockAllocator a = new BlockAllocator(16, 4);
        BlockTable t1 = new BlockTable();
        BlockTable t2 = new BlockTable();
        // two sequences computed the same first block in one step, before either could find the other's
        assertTrue(a.reserve(t1, 9));
        assertTrue(a.reserve(t2, 9));
        a.commit(t1, tokens(0, 4));
        a.commit(t2, tokens(0, 4));
        assertEquals(1, a.cachedBlocks());
        // t2 then fills its second block: findable after t1's first block too, as the prefix is the same
        a.commit(t2, tokens(4, 4));
        BlockTable t3 = new BlockTable();
        assertEquals(8, a.matchPrefix(tokens(0, 9), t3));
        assertEquals(t1.block(0), t3.block(0));
        assertEquals(t2.block(1), t3.block(1));
        assertNotEquals(t1.block(0), t2.block(0));
    }

    @Test
    void releasingFreesUncommittedBlocksAtOnceAndCommitsMustBeWholeBlocks() {
        BlockAllocator a = new BlockAllocator(4, 4);
        BlockTable t = new BlockTable();
        assertTrue(a.reserve(t, 16));
        assertThrows(IllegalArgumentException.class, () -> a.commit(t, tokens(0, 3)));
        a.commit(t, tokens(0, 4));
        assertThrows(IllegalStateException.class, () -> a.matchPrefix(tokens(0, 5), t), "not an empty table");
        a.release(t);
        assertEquals(4, a.freeBlocks());
        assertEquals(1, a.cachedBlocks());
        assertArrayEquals(new int[0], t.toArray());
        assertEquals(0, t.committedBlocks());
    }

    @Test
    void aForkSharesEveryBlockAndTheFirstWriterOfTheSharedPartialBlockGetsItsOwnCopy() {
        BlockAllocator a = new BlockAllocator(8, 4);
        BlockTable parent = computed(a, tokens(0, 6)); // one whole block, then 2 of 4 positions
        BlockTable c1 = new BlockTable();
        BlockTable c2 = new BlockTable();
        a.fork(parent, c1);
        a.fork(parent, c2);
        assertArrayEquals(parent.toArray(), c1.toArray());
        assertEquals(1, c1.committedBlocks());
        assertEquals(3, a.references(parent.block(1)));
        assertEquals(6, a.freeBlocks(), "a fork takes no block");

        assertTrue(a.needsCopy(c1, 6));
        assertTrue(a.needsCopy(c1, 3), "a shared whole block would need a copy too (but positions only grow)");
        BlockCopy copy = a.makeWritable(c1, 6);
        assertEquals(new BlockCopy(parent.block(1), c1.block(1)), copy);
        assertNotEquals(parent.block(1), c1.block(1));
        assertEquals(parent.block(0), c1.block(0), "the whole block stays shared");
        assertEquals(2, a.references(parent.block(1)));
        assertEquals(5, a.freeBlocks());
        BlockCopy second = a.makeWritable(c2, 7);
        assertEquals(new BlockCopy(parent.block(1), c2.block(1)), second);
        assertNull(a.makeWritable(parent, 6), "the last holder writes in place");
        assertNull(a.makeWritable(c1, 6), "a copy is made once");

        a.release(parent);
        a.release(c1);
        assertEquals(1, a.references(c2.block(0)));
        a.release(c2);
        assertEquals(8, a.freeBlocks(), "every block comes back when all three let go");
        IntStream.range(0, 8).forEach(b -> assertEquals(0, a.references(b)));
    }

    @Test
    void aCopyWithNoFreeBlockIsRefused() {
        BlockAllocator a = new BlockAllocator(2, 4);
        BlockTable parent = new BlockTable();
        assertTrue(a.reserve(parent, 6));
        BlockTable child = new BlockTable();
        a.fork(parent, child);
        assertEquals(0, a.freeBlocks());
        assertThrows(IllegalStateException.class, () -> a.makeWritable(child, 5));
        assertEquals(2, a.references(parent.block(1)), "nothing changed");
    }
}
