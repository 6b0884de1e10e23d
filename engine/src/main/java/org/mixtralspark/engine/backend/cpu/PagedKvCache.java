package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;

/**
 * The CPU's paged KV cache: for each layer, one key array and one value array of {@code totalBlocks x blockSize}
 * slots of {@code kvDim} values (RoPE'd keys, values), stored as fp32 ({@code float[]}) or as 16-bit F16/BF16 bits
 * ({@code short[]}, rounded to nearest even when written, widened exactly when read). Slot {@code s} of block
 * {@code b} is row {@code b * blockSize + s}. The budget is fixed when the engine starts; sequences are admitted and
 * grown by free blocks ({@link BlockAllocator}), never by a fixed batch size alone.
 */
public final class PagedKvCache {

    private final int kvDim;
    private final int blockSize;
    private final KvType type;
    private final int layers;
    private final float[][] keys;    // F32: (layer, totalBlocks * blockSize * kvDim); else null
    private final float[][] values;
    private final short[][] keys16;  // F16, BF16: (layer, totalBlocks * blockSize * kvDim) bits; else null
    private final short[][] values16;
    private final BlockAllocator allocator;

    public PagedKvCache(MixtralConfig c, int totalBlocks, int blockSize, KvType type) {
        long slots = (long) totalBlocks * blockSize * c.kvDim();
        if (slots > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + totalBlocks + " blocks x " + blockSize + " positions x "
                    + c.kvDim() + " values per layer exceeds one Java array; lower the KV budget");
        }
        this.kvDim = c.kvDim();
        this.blockSize = blockSize;
        this.type = type;
        this.layers = c.layers();
        boolean f32 = type == KvType.F32;
        this.keys = f32 ? new float[layers][(int) slots] : null;
        this.values = f32 ? new float[layers][(int) slots] : null;
        this.keys16 = f32 ? null : new short[layers][(int) slots];
        this.values16 = f32 ? null : new short[layers][(int) slots];
        this.allocator = new BlockAllocator(totalBlocks, blockSize);
    }

    /** Blocks that fit in {@code bytes} for this model (keys and values of every layer, {@code type}). */
    public static int blocksForBudget(MixtralConfig c, long bytes, int blockSize, KvType type) {
        long perBlock = bytesPerBlock(c, blockSize, type);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / perBlock));
    }

    /** Bytes of one block: keys and values of every layer. */
    public static long bytesPerBlock(MixtralConfig c, int blockSize, KvType type) {
        return 2L * c.layers() * blockSize * c.kvDim() * type.bytes;
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

    public KvType type() {
        return type;
    }

    /** The fp32 keys of {@code layer}; only for an F32 cache (16-bit ones are read through {@link #readKeys}). */
    public float[] keys(int layer) {
        return f32(keys)[layer];
    }

    /** The fp32 values of {@code layer}; only for an F32 cache. */
    public float[] values(int layer) {
        return f32(values)[layer];
    }

    private float[][] f32(float[][] a) {
        if (a == null) {
            throw new IllegalStateException("the KV cache stores " + type + ", not fp32 arrays");
        }
        return a;
    }

    /** Stores row {@code row} of layer {@code layer}: kvDim keys from {@code k[kOff..]}, kvDim values from {@code v}. */
    public void write(int layer, int row, float[] k, int kOff, float[] v, int vOff) {
        int at = row * kvDim;
        if (type == KvType.F32) {
            System.arraycopy(k, kOff, keys[layer], at, kvDim);
            System.arraycopy(v, vOff, values[layer], at, kvDim);
            return;
        }
        short[] ks = keys16[layer];
        short[] vs = values16[layer];
        boolean half = type == KvType.F16;
        for (int i = 0; i < kvDim; i++) {
            ks[at + i] = half ? Float16.fromFloat(k[kOff + i]) : BFloat16.fromFloat(k[kOff + i]);
            vs[at + i] = half ? Float16.fromFloat(v[vOff + i]) : BFloat16.fromFloat(v[vOff + i]);
        }
    }

    /** Widens {@code n} stored keys of {@code layer} from element {@code from} into {@code out[outOff..)}. */
    public void readKeys(int layer, int from, float[] out, int outOff, int n) {
        widen(keys16[layer], from, out, outOff, n);
    }

    /** Widens {@code n} stored values of {@code layer} from element {@code from} into {@code out[outOff..)}. */
    public void readValues(int layer, int from, float[] out, int outOff, int n) {
        widen(values16[layer], from, out, outOff, n);
    }

    private void widen(short[] bits, int from, float[] out, int outOff, int n) {
        if (type == KvType.F16) {
            for (int i = 0; i < n; i++) {
                out[outOff + i] = HALF_TO_FLOAT[bits[from + i] & 0xFFFF];
            }
        } else {
            for (int i = 0; i < n; i++) {
                out[outOff + i] = Float.intBitsToFloat(bits[from + i] << 16);
            }
        }
    }

    /** Every half's float value (256 KiB, shared): a table lookup is several times cheaper than decoding the bits. */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int bits = 0; bits < HALF_TO_FLOAT.length; bits++) {
            HALF_TO_FLOAT[bits] = Float16.toFloat(bits);
        }
    }

    /** Copies every layer's keys and values of block {@code from} into block {@code to} (copy-on-write). */
    public void copyBlock(int from, int to) {
        int n = blockSize * kvDim;
        for (int l = 0; l < layers; l++) {
            if (type == KvType.F32) {
                System.arraycopy(keys[l], from * n, keys[l], to * n, n);
                System.arraycopy(values[l], from * n, values[l], to * n, n);
            } else {
                System.arraycopy(keys16[l], from * n, keys16[l], to * n, n);
                System.arraycopy(values16[l], from * n, values16[l], to * n, n);
            }
        }
    }

    /** Row (in units of kvDim) of position {@code pos} of the sequence with {@code table}. */
    public int row(BlockTable table, int pos) {
        return table.block(pos / blockSize) * blockSize + pos % blockSize;
    }

    public long bytes() {
        return 2L * layers * (long) allocator.totalBlocks() * blockSize * kvDim * type.bytes;
    }
}
