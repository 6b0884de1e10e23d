package org.mixtralspark.engine.kv;

/**
 * Hands out the blocks of a paged KV cache: a free list of {@code totalBlocks} block ids. A sequence grows its
 * {@link BlockTable} a block at a time; {@link #reserve} is all-or-nothing, so a sequence never holds a partial
 * reservation when the cache is full. Not thread-safe: the engine's step thread owns it.
 */
public final class BlockAllocator {

    /** Positions per block (vLLM's default); the CPU and CUDA caches share this layout. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    private final int blockSize;
    private final int[] free;
    private int freeCount;

    public BlockAllocator(int totalBlocks, int blockSize) {
        if (totalBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("a KV cache needs >= 1 block of >= 1 position, got " + totalBlocks
                    + " blocks of " + blockSize);
        }
        this.blockSize = blockSize;
        this.free = new int[totalBlocks];
        for (int i = 0; i < totalBlocks; i++) {
            free[i] = totalBlocks - 1 - i; // hand out low ids first
        }
        this.freeCount = totalBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return free.length;
    }

    public int freeBlocks() {
        return freeCount;
    }

    /** Blocks needed for {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    /**
     * Grows {@code table} so that it holds positions {@code [0, positions)}.
     *
     * @return false, leaving the table unchanged, when there are not enough free blocks
     */
    public boolean reserve(BlockTable table, int positions) {
        int need = blocksFor(positions) - table.blockCount();
        if (need <= 0) {
            return true;
        }
        if (need > freeCount) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            table.add(free[--freeCount]);
        }
        return true;
    }

    /** Returns every block of {@code table} to the free list and empties the table. */
    public void release(BlockTable table) {
        for (int b : table.drain()) {
            free[freeCount++] = b;
        }
    }
}
