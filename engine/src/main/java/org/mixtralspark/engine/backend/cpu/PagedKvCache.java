package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockTable;

import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The CPU's paged KV cache: for each layer, one key array and one value array of {@code totalBlocks x blockSize}
 * slots of {@code kvDim} floats (RoPE'd keys, values). Slot {@code s} of block {@code b} is row
 * {@code b * blockSize + s}. The budget is fixed when the engine starts; sequences are admitted and grown by free
 * blocks ({@link BlockAllocator}), never by a fixed batch size alone.
 */
public final class PagedKvCache {

    private final int kvDim;
    private final int blockSize;
    private final float[][] keys;   // (layer, totalBlocks * blockSize * kvDim)
    private final float[][] values; // (layer, totalBlocks * blockSize * kvDim)
    private final BlockAllocator allocator;

    public PagedKvCache(MixtralConfig c, int totalBlocks, int blockSize) {
        long floats = (long) totalBlocks * blockSize * c.kvDim();
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + totalBlocks + " blocks x " + blockSize + " positions x "
                    + c.kvDim() + " floats per layer exceeds one Java array; lower the KV budget");
        }
        this.kvDim = c.kvDim();
        this.blockSize = blockSize;
        this.keys = new float[c.layers()][(int) floats];
        this.values = new float[c.layers()][(int) floats];
        this.allocator = new BlockAllocator(totalBlocks, blockSize);
    }

    /** Blocks that fit in {@code bytes} for this model (keys and values of every layer, fp32). */
    public static int blocksForBudget(MixtralConfig c, long bytes, int blockSize) {
        long perBlock = bytesPerBlock(c, blockSize);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / perBlock));
    }

    public static long bytesPerBlock(MixtralConfig c, int blockSize) {
        return 2L * c.layers() * blockSize * c.kvDim() * Float.BYTES;
    }

    public BlockAllocator allocator() {
        return allocator;
    }

    public int blockSize() {
        return blockSize;
    }

    public int kvDim() {
        return kvDim;
    }

    public float[] keys(int layer) {
        return keys[layer];
    }

    public float[] values(int layer) {
        return values[layer];
    }

    /** Copies every layer's keys and values of block {@code from} into block {@code to} (copy-on-write). */
    public void copyBlock(int from, int to) {
        int n = blockSize * kvDim;
        for (int l = 0; l < keys.length; l++) {
            System.arraycopy(keys[l], from * n, keys[l], to * n, n);
            System.arraycopy(values[l], from * n, values[l], to * n, n);
        }
    }

    /** Row (in units of kvDim) of position {@code pos} of the sequence with {@code table}. */
    public int row(BlockTable table, int pos) {
        return table.block(pos / blockSize) * blockSize + pos % blockSize;
    }

    public long bytes() {
        return 2L * keys.length * keys[0].length * Float.BYTES;
    }
}
