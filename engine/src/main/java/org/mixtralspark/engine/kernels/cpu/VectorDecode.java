package org.mixtralspark.engine.kernels.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Vector API decoders: a run of one weight row, {@code count} values from column {@code col}, into fp32 lanes of a
 * float array that stays in L1 while {@link VectorMatmul} multiplies it into every token of the batch. Each produces
 * the value {@link Dequantize} gives, bit for bit (same roundings, no fused multiply-add), so a kernel differs from
 * the reference only in the order of its sums.
 *
 * <p>The stored bytes are first copied from the (mapped, read-only) buffer into a per-thread array with one absolute
 * bulk get per run: {@code ByteBuffer.get(int, byte[], int, int)} is a memcpy, and {@code ByteVector.fromArray} then
 * works on JDK 17 and 21 alike ({@code fromByteBuffer} is gone after 19, {@code fromMemorySegment} is not in 17).
 * Quants are widened byte to int ({@code B2I}: one {@code vpmovsxbd}), unpacked with int shifts and masks (x86 has
 * no byte shifts), then converted to float ({@code vcvtdq2ps}).
 *
 * <p>{@code count} and {@code col} are multiples of the lane count (and of the block size for quantised types).
 */
final class VectorDecode {

    /** Float lanes: {@link VectorMatmul#SPECIES}. */
    private static final VectorSpecies<Float> F = VectorMatmul.SPECIES;
    /** Int lanes, as many as {@link #F}. */
    private static final VectorSpecies<Integer> I = F == null ? null : VectorSpecies.of(int.class, F.vectorShape());
    /** Short lanes, as many as {@link #F} (16 shorts = 256 bits for 512-bit floats). */
    private static final VectorSpecies<Short> S = F == null ? null
            : VectorSpecies.of(short.class, VectorShape.forBitSize(16 * F.length()));
    /**
     * Byte lanes: as many as {@link #F}, or 8 (the narrowest shape) for 4-lane floats, of which the first 4 are used
     * (part 0 of the conversion).
     */
    private static final VectorSpecies<Byte> B = F == null ? null
            : VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * Math.max(8, F.length())));
    /** Lanes per vector. */
    static final int L = F == null ? 0 : F.length();

    /** Bytes the byte scratch needs past the run, so that a last 8-byte load for 4-lane floats stays inside it. */
    static final int BYTE_SLACK = 16;

    private VectorDecode() {
    }

    /**
     * Decodes {@code w[row, col .. col + count)} into {@code dst[off .. off + count)}.
     *
     * @param s per-thread buffers for at least {@code count} values
     */
    static void run(WeightMatrix w, int row, int col, int count, Buffers s, float[] dst, int off) {
        byte[] bytes = s.bytes;
        short[] shorts = s.shorts;
        long rowOffset = w.rowOffset(row);
        switch (w.type()) {
            case F32 -> w.floats().get((int) (rowOffset / 4) + col, dst, off, count);
            case F16 -> {
                w.shorts().get((int) (rowOffset / 2) + col, shorts, 0, count);
                f16(shorts, count, dst, off);
            }
            case BF16 -> {
                w.shorts().get((int) (rowOffset / 2) + col, shorts, 0, count);
                bf16(shorts, count, dst, off);
            }
            default -> {
                int blockSize = w.type().blockSize;
                int typeSize = w.type().typeSize;
                int blocks = count / blockSize;
                w.data().get((int) (rowOffset + (long) (col / blockSize) * typeSize), bytes, 0, blocks * typeSize);
                switch (w.type()) {
                    case Q8_0 -> q8_0(bytes, blocks, s, dst, off);
                    case Q4_0 -> q4_0(bytes, blocks, s, dst, off);
                    case Q4_K -> q4_K(bytes, blocks, dst, off);
                    case Q5_K -> q5_K(bytes, blocks, dst, off);
                    case Q6_K -> q6_K(bytes, blocks, s, dst, off);
                    default -> throw new IllegalArgumentException("no vector decoder for " + w.type());
                }
            }
        }
    }

    /** The first {@link #L} bytes from {@code b[o]}, sign-extended to int lanes. */
    private static IntVector widen(byte[] b, int o) {
        return (IntVector) ByteVector.fromArray(B, b, o).convertShape(VectorOperators.B2I, I, 0);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }

    /**
     * Every half as a float (256 KiB): block scales are decoded by one load instead of {@code Float16.toFloat}'s
     * branches, which cost as much as the vector work on a 32-value block. Only the few lines of the scales a model
     * uses stay in cache.
     */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
            HALF_TO_FLOAT[h] = org.mixtralspark.engine.io.Float16.toFloat(h);
        }
    }

    /** A little-endian half at {@code b[o]}, as float. */
    private static float half(byte[] b, int o) {
        return HALF_TO_FLOAT[(b[o] & 0xFF) | ((b[o + 1] & 0xFF) << 8)];
    }

    /**
     * Halves to floats with int and float lane operations (JDK 17 has no f16 conversion): {@code h << 16 >> 3} puts
     * the sign in bit 31 and the 5-bit exponent and 10-bit mantissa at float's bits 27..13, i.e. the float
     * {@code value * 2^-112} for every finite half, subnormals included; multiplying by {@code 2^112} is exact. Inf and
     * NaN (exponent 31) instead get the float exponent 255, mantissa kept.
     */
    static void f16(short[] src, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += L) {
            IntVector h = (IntVector) ShortVector.fromArray(S, src, i).convertShape(VectorOperators.S2I, I, 0);
            IntVector scaled = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            FloatVector f = scaled.reinterpretAsFloats().mul(0x1p112f);
            var special = h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00);
            if (special.anyTrue()) {
                f = f.blend(scaled.or(0x7000_0000).reinterpretAsFloats(), special.cast(F));
            }
            f.intoArray(dst, off + i);
        }
    }

    /** bfloat16 is the top half of a float. */
    static void bf16(short[] src, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += L) {
            IntVector h = (IntVector) ShortVector.fromArray(S, src, i).convertShape(VectorOperators.S2I, I, 0);
            h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
        }
    }

    /**
     * Q8_0 (34 B: half d; int8 qs[32]): y = qs * d. The scales are read first in a loop of their own: the vector
     * loop then has no table lookup in its dependency chain (~20% faster).
     */
    private static void q8_0(byte[] b, int blocks, Buffers s, float[] y, int off) {
        float[] scales = s.scales;
        for (int blk = 0; blk < blocks; blk++) {
            scales[blk] = half(b, 34 * blk);
        }
        for (int blk = 0; blk < blocks; blk++) {
            float d = scales[blk];
            int o = 34 * blk + 2;
            for (int j = 0; j < 32; j += L) {
                toFloat(widen(b, o + j)).mul(d).intoArray(y, off + 32 * blk + j);
            }
        }
    }

    /** Q4_0 (18 B: half d; uint8 qs[16]): y[j] = ((qs[j] &amp; 15) - 8) * d, y[j + 16] = ((qs[j] &gt;&gt; 4) - 8) * d. */
    private static void q4_0(byte[] b, int blocks, Buffers s, float[] y, int off) {
        float[] scales = s.scales;
        for (int blk = 0; blk < blocks; blk++) {
            scales[blk] = half(b, 18 * blk);
        }
        for (int blk = 0; blk < blocks; blk++) {
            float d = scales[blk];
            int o = 18 * blk + 2;
            int yo = off + 32 * blk;
            for (int j = 0; j < 16; j += L) {
                IntVector q = widen(b, o + j);
                toFloat(q.and(0xF).sub(8)).mul(d).intoArray(y, yo + j);
                toFloat(q.lanewise(VectorOperators.ASHR, 4).and(0xF).sub(8)).mul(d).intoArray(y, yo + 16 + j);
            }
        }
    }

    /** {@code Dequantize.scaleMinK4} on a byte array: scale | (min &lt;&lt; 8) of sub-block j. */
    private static int scaleMinK4(byte[] b, int scales, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = b[scales + j] & 63;
            m = b[scales + j + 4] & 63;
        } else {
            int hi = b[scales + j + 4] & 0xFF;
            sc = (hi & 0xF) | (((b[scales + j - 4] & 0xFF) >>> 6) << 4);
            m = (hi >>> 4) | (((b[scales + j] & 0xFF) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    /** Q4_K (144 B: half d, dmin; scales[12]; qs[128]): per 64 values, d*sc*q - dmin*m, low nibbles then high. */
    private static void q4_K(byte[] b, int blocks, float[] y, int off) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 144 * blk;
            float d = half(b, o);
            float min = half(b, o + 2);
            for (int g = 0; g < 4; g++) {
                int sm1 = scaleMinK4(b, o + 4, 2 * g);
                int sm2 = scaleMinK4(b, o + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF);
                float m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF);
                float m2 = min * (sm2 >>> 8);
                int q = o + 16 + 32 * g;
                int yo = off + 256 * blk + 64 * g;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = widen(b, q + l);
                    toFloat(v.and(0xF)).mul(d1).sub(m1).intoArray(y, yo + l);
                    toFloat(v.lanewise(VectorOperators.ASHR, 4).and(0xF)).mul(d2).sub(m2).intoArray(y, yo + 32 + l);
                }
            }
        }
    }

    /** Q5_K (176 B: half d, dmin; scales[12]; qh[32]; qs[128]): as Q4_K plus a fifth bit, bit 2g / 2g+1 of qh. */
    private static void q5_K(byte[] b, int blocks, float[] y, int off) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 176 * blk;
            float d = half(b, o);
            float min = half(b, o + 2);
            for (int g = 0; g < 4; g++) {
                int sm1 = scaleMinK4(b, o + 4, 2 * g);
                int sm2 = scaleMinK4(b, o + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF);
                float m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF);
                float m2 = min * (sm2 >>> 8);
                int q = o + 48 + 32 * g;
                int yo = off + 256 * blk + 64 * g;
                for (int l = 0; l < 32; l += L) {
                    IntVector v = widen(b, q + l);
                    IntVector h = widen(b, o + 16 + l);
                    IntVector lo = v.and(0xF).or(bitTo16(h, 2 * g));
                    IntVector hi = v.lanewise(VectorOperators.ASHR, 4).and(0xF).or(bitTo16(h, 2 * g + 1));
                    toFloat(lo).mul(d1).sub(m1).intoArray(y, yo + l);
                    toFloat(hi).mul(d2).sub(m2).intoArray(y, yo + 32 + l);
                }
            }
        }
    }

    /** Bit {@code bit} (0..7) of each lane, moved to bit 4 (value 16); the others cleared. */
    private static IntVector bitTo16(IntVector h, int bit) {
        return bit <= 4
                ? h.lanewise(VectorOperators.LSHL, 4 - bit).and(0x10)
                : h.lanewise(VectorOperators.ASHR, bit - 4).and(0x10);
    }

    /**
     * Q6_K (210 B: ql[128]; qh[64]; int8 scales[16]; half d): per 128 values, four runs of 32 from the low and high
     * nibbles of ql and the four 2-bit fields of qh, minus 32, times {@code d * scale}; the scale of the 16 values at
     * output position p is {@code scales[p / 16]}.
     *
     * <p>Two passes: the 6-bit quants are first assembled 8 at a time in a {@code long} (a nibble or 2-bit field of
     * all 8 bytes moves with one shift and one mask), into bytes in output order; then {@link #scaleGroups} converts
     * them. Doing the bit work with Vector API calls as well would put ~35 of them in one method, which outgrows C2's
     * inlining budget (NodeCountInliningCutoff), and then every vector is boxed: 20x slower.
     */
    private static void q6_K(byte[] b, int blocks, Buffers s, float[] y, int off) {
        byte[] q = s.quants;
        for (int blk = 0; blk < blocks; blk++) {
            int o = 210 * blk;
            float d = half(b, o + 208);
            for (int k = 0; k < 16; k++) {
                s.scales[16 * blk + k] = d * b[o + 192 + k];
            }
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l += 8) {
                    long a = (long) LONGS.get(b, o + 64 * n + l);
                    long c = (long) LONGS.get(b, o + 64 * n + l + 32);
                    long h = (long) LONGS.get(b, o + 128 + 32 * n + l);
                    int dst = 256 * blk + 128 * n + l;
                    LONGS.set(q, dst, (a & LOW_NIBBLES) | ((h & 0x0303030303030303L) << 4));
                    LONGS.set(q, dst + 32, (c & LOW_NIBBLES) | ((h & 0x0C0C0C0C0C0C0C0CL) << 2));
                    LONGS.set(q, dst + 64, ((a >>> 4) & LOW_NIBBLES) | (h & 0x3030303030303030L));
                    LONGS.set(q, dst + 96, ((c >>> 4) & LOW_NIBBLES) | ((h >>> 2) & 0x3030303030303030L));
                }
            }
        }
        scaleGroups(q, 16, 32, s.scales, blocks * 16, y, off);
    }

    private static final long LOW_NIBBLES = 0x0F0F0F0F0F0F0F0FL;
    /** 8 bytes of a byte array as one little-endian long (a plain 8-byte load or store once compiled). */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * {@code y[g * size + j] = (q[g * size + j] - bias) * scales[g]} for every group g: exact in int, then one
     * rounding, as {@link Dequantize} computes it.
     */
    private static void scaleGroups(byte[] q, int size, int bias, float[] scales, int groups, float[] y, int off) {
        for (int g = 0; g < groups; g++) {
            float sc = scales[g];
            for (int j = 0; j < size; j += L) {
                toFloat(widen(q, g * size + j).sub(bias)).mul(sc).intoArray(y, off + g * size + j);
            }
        }
    }

    /** Per-thread buffers of the decoders, sized for one run of {@code maxValues} values. */
    static final class Buffers {
        final byte[] bytes;
        final short[] shorts;
        /** unpacked Q6_K quants, in output order */
        final byte[] quants;
        /** a scale per block (Q8_0, Q4_0) or per group of 16 values (Q6_K) */
        final float[] scales;

        Buffers(int maxValues) {
            bytes = new byte[maxValues / 32 * 34 + BYTE_SLACK]; // the most bytes per value: Q8_0
            shorts = new short[maxValues];
            quants = new byte[maxValues + BYTE_SLACK];
            scales = new float[maxValues / 16];
        }
    }
}
