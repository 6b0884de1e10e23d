package org.mixtralspark.engine.kv;

import java.util.Arrays;

/**
 * One sequence's view of a paged KV cache (vLLM's block table): the ids of the fixed-size blocks that hold its
 * positions, in order. Position {@code p} lives in block {@code blocks[p / blockSize]} at slot {@code p % blockSize}.
 * Owned by the engine's step thread; the cache hands blocks in and out through {@link BlockAllocator}.
 */
public final class BlockTable {

    private int[] blocks = new int[4];
    private int count;
    /** Leading blocks the allocator has committed (their tokens are known and findable); see BlockAllocator. */
    int committed;

    /** Blocks held. */
    public int blockCount() {
        return count;
    }

    /** The id of the {@code i}-th block. */
    public int block(int i) {
        if (i >= count) {
            throw new IndexOutOfBoundsException("block " + i + " of a table of " + count);
        }
        return blocks[i];
    }

    /** Leading blocks whose tokens are committed to the allocator's prefix cache. */
    public int committedBlocks() {
        return committed;
    }

    /** Positions the table can hold with {@code blockSize}-position blocks. */
    public int capacity(int blockSize) {
        return count * blockSize;
    }

    void add(int block) {
        if (count == blocks.length) {
            blocks = Arrays.copyOf(blocks, count * 2);
        }
        blocks[count++] = block;
    }

    void set(int i, int block) {
        if (i >= count) {
            throw new IndexOutOfBoundsException("block " + i + " of a table of " + count);
        }
        blocks[i] = block;
    }

    int[] drain() {
        int[] out = Arrays.copyOf(blocks, count);
        count = 0;
        committed = 0;
        return out;
    }

    /** The block ids as an array (for backends that copy the table to a device). */
    public int[] toArray() {
        return Arrays.copyOf(blocks, count);
    }
}
