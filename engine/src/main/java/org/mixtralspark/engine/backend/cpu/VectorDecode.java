package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.WeightMatrix;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.mixtralspark.engine.tensor.GgmlType;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Decoders for {@link VectorMatmul}: a run of one weight row, {@code count} values from column {@code col}, into
 * fp32 lanes. Each weight comes out as the value {@link Dequantize} gives, bit for bit (same roundings, no fused
 * multiply-add), so a kernel differs from the reference only in the order of its sums.
 *
 * <p>The stored bytes are first copied from the (mapped, read-only) buffer into a per-thread array with one absolute
 * bulk get per run: {@code ByteBuffer.get(int, byte[], int, int)} is a memcpy, and {@code fromArray} then works on
 * JDK 17 and 21 alike ({@code fromByteBuffer} is gone after 19, {@code fromMemorySegment} is not in 17).
 *
 * <p>Quantised rows are decoded in two passes:
 * <ol>
 * <li>{@link #unpack}: the quants become signed bytes in column order, with a scale (and min) per group of 16 or 32
 * values. Q4_0 and Q4_K split nibbles 16 bytes at a time with a handful of Vector API calls; Q5_K and Q6_K, with more
 * bit fields, assemble 8 quants at a time in a {@code long} (a field of all 8 bytes moves with one shift and one
 * mask). Q8_0 quants are int8 already: they stay in their blocks, and only the scales are read;</li>
 * <li>{@link #toFloats} (for a batch) or {@link #dot4}/{@link #dot1} (for one token, fused with the dot product):
 * 16 bytes at a time are converted to floats ({@code B2F}: {@code vpmovsxbd} + {@code vcvtdq2ps}), times the scale,
 * minus the min.</li>
 * </ol>
 * Doing the bit work with Vector API calls as well would put 30 or more of them in one method, which outgrows C2's
 * inlining budget ({@code NodeCountInliningCutoff}); then vectors are boxed and a kernel is 10-20x slower. Every
 * method here keeps to about 20 calls.
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

    /** Bytes a byte array needs past its last value, so that an 8-byte load for 4-lane floats stays inside it. */
    static final int BYTE_SLACK = 16;

    private VectorDecode() {
    }

    /** Per-thread buffers for {@code slots} runs of up to {@code maxValues} values. */
    static final class Buffers {
        final int maxValues;
        /** bytes per slot of {@link #quants}: room for a run of stored Q8_0 blocks (the most bytes per value) */
        final int slotBytes;
        /** stored bytes of one run (types other than Q8_0) */
        final byte[] bytes;
        final short[] shorts;
        /** a run of F16 values in column order, when one holds an infinity or NaN ({@link #f16Split}) */
        final float[] natural;
        /**
         * quants of slot i from {@code i * slotBytes}: unpacked signed bytes in column order, or, for Q8_0, the stored
         * blocks as they are (their int8 quants need no unpacking: pass 2 reads them between the scales)
         */
        final byte[] quants;
        /** scale and min per group of 16 values (per 32 for types with 32-value groups); slot i from i * maxValues / 16 */
        final float[] scales;
        final float[] mins;
        /**
         * Where pass 2 reads the quants of the current run: {@link #quants}, or, for Q8_0 weights on the heap, the
         * matrix's own array (nothing to unpack, so nothing is copied)
         */
        byte[] src;
        /** Offset in {@link #src} of each slot's first quant (Q8_0: past the block's 2-byte scale). */
        final int[] at;

        Buffers(int maxValues, int slots) {
            this.maxValues = maxValues;
            slotBytes = maxValues / 32 * 34;
            bytes = new byte[slotBytes + BYTE_SLACK];
            shorts = new short[maxValues];
            natural = new float[maxValues];
            quants = new byte[slots * slotBytes + BYTE_SLACK];
            scales = new float[slots * maxValues / 16];
            mins = new float[slots * maxValues / 16];
            src = quants;
            at = new int[slots];
        }
    }

    /** Whether {@link #unpack} handles the type (the quantised ones), else {@link #plain}. */
    static boolean isUnpacked(GgmlType type) {
        return switch (type) {
            case Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** log2 of the values sharing a scale in the unpacked form: 16 for Q6_K, 32 for the others. */
    private static int groupShift(GgmlType type) {
        return type == GgmlType.Q6_K ? 4 : 5;
    }

    /**
     * Most tokens the fused kernels ({@link #dot4x4}, {@link #dot4x2}) take for the type, before decoding a run once
     * into memory pays: 2 for the types with mins (their 4x4 tile, with the extra subtraction, spills out of the 32
     * vector registers and ran 3x slower, and repeated 4x2 tiles lose to a decoded run past 2 tokens), no limit of
     * their own for the others ({@link VectorMatmul#FUSED_TOKENS} applies).
     */
    static int fusedTokens(GgmlType type) {
        return hasMins(type) ? 2 : Integer.MAX_VALUE;
    }

    /** Whether {@link #dot4x4} takes the type: not the types with mins (see {@link #fusedTokens}). */
    static boolean hasTile4x4(GgmlType type) {
        return !hasMins(type);
    }

    /** Whether the unpacked form has a min per group (subtracted after scaling): Q4_K and Q5_K. */
    private static boolean hasMins(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K;
    }

    /**
     * Where value j of a slot is in {@link Buffers#quants}: {@code first + j + gap * (j / 32)} from the slot's start.
     * Unpacked quants are contiguous; Q8_0 quants stay in their 34-byte blocks, after the 2-byte scale.
     */
    private static int gap(GgmlType type) {
        return type == GgmlType.Q8_0 ? 2 : 0;
    }

    /**
     * Whether {@link #plain} writes the type's values in pair-split order: of every {@code 2 * L} values, the even ones
     * first, then the odd ones. F16 and BF16 are: two halves are read as one int lane, so each half lands in a float
     * lane with a shift and a mask, no lane shuffle. The activations must then be split the same way ({@link #split}).
     */
    static boolean isPairSplit(GgmlType type) {
        return type == GgmlType.F16 || type == GgmlType.BF16;
    }

    /**
     * {@code src[0 .. count)} in pair-split order into {@code dst[off ..)}: of each {@code 2 * L} values the even ones,
     * then the odd ones. {@code count} is a multiple of {@code 2 * L}.
     */
    static void split(float[] src, int count, float[] dst, int off) {
        split(src, 0, count, dst, off);
    }

    /** As {@link #split(float[], int, float[], int)}, from {@code src[srcOff ..)}. */
    static void split(float[] src, int srcOff, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += 2 * L) {
            for (int j = 0; j < L; j++) {
                dst[off + i + j] = src[srcOff + i + 2 * j];
                dst[off + i + L + j] = src[srcOff + i + 2 * j + 1];
            }
        }
    }

    /**
     * F32, F16, BF16: decodes {@code w[row, col .. col + count)} into {@code dst[off .. off + count)}, in pair-split
     * order for F16 and BF16 ({@link #isPairSplit}, {@code count} then a multiple of {@code 2 * L}).
     */
    static void plain(WeightMatrix w, MatrixTables tables, int row, int col, int count, Buffers s, float[] dst, int off) {
        long rowOffset = w.rowOffset(row);
        switch (w.type()) {
            case F32 -> w.floats().get((int) (rowOffset / 4) + col, dst, off, count);
            case F16 -> {
                halves(w, (int) (rowOffset / 2) + col, count, s.shorts);
                if (tables.halvesFinite) {
                    f16SplitFinite(s.shorts, count, dst, off);
                } else if (f16Split(s.shorts, count, dst, off)) {
                    // an infinity or NaN in the run: decode it again, exactly, the slow way
                    f16(s.shorts, 0, count, s.natural, 0);
                    split(s.natural, count, dst, off);
                }
            }
            case BF16 -> {
                halves(w, (int) (rowOffset / 2) + col, count, s.shorts);
                bf16Split(s.shorts, count, dst, off);
            }
            default -> throw new IllegalArgumentException(w.type() + " is not a plain type");
        }
    }

    /** {@code count} stored halves of an F16/BF16 matrix from half {@code index}, from its heap copy if it has one. */
    private static void halves(WeightMatrix w, int index, int count, short[] dst) {
        short[] heap = w.heapHalves();
        if (heap != null) {
            System.arraycopy(heap, index, dst, 0, count);
        } else {
            w.shorts().get(index, dst, 0, count);
        }
    }

    /** Quantised types, pass 1: {@code w[row, col .. col + count)} into slot {@code slot} of the buffers. */
    static void unpack(WeightMatrix w, MatrixTables tables, int row, int col, int count, Buffers s, int slot) {
        GgmlType type = w.type();
        int blocks = count / type.blockSize;
        int stored = (int) (w.rowOffset(row) + (long) (col / type.blockSize) * type.typeSize);
        int qo = slot * s.slotBytes;
        int so = slot * s.maxValues / 16;
        byte[] heap = w.heap();
        if (type == GgmlType.Q8_0) {
            if (heap != null) {
                s.src = heap;
                s.at[slot] = stored + 2;
            } else {
                w.data().get(stored, s.quants, qo, blocks * type.typeSize);
                s.src = s.quants;
                s.at[slot] = qo + 2;
            }
            // the scales from the matrix's table, 16 (or L) at a time: a slot has room for maxValues / 16 of them
            int first = w.storedRow(row) * (w.cols() / 32) + col / 32;
            f16(tables.q8Scales, first, (blocks + L - 1) / L * L, s.scales, so);
            return;
        }
        // the other types unpack from a copy of the run in L1 (unpacking Q6_K straight from a large array ran 1.5x
        // slower: its 8-byte loads walk four streams per block)
        if (heap != null) {
            System.arraycopy(heap, stored, s.bytes, 0, blocks * type.typeSize);
        } else {
            w.data().get(stored, s.bytes, 0, blocks * type.typeSize);
        }
        s.src = s.quants;
        s.at[slot] = qo;
        switch (type) {
            case Q4_0 -> unpackQ4_0(s.bytes, blocks, s.quants, qo, s.scales, so);
            case Q4_K -> unpackQ4_K(s.bytes, blocks, s.quants, qo, s, so);
            case Q5_K -> unpackQ5_K(s.bytes, blocks, s.quants, qo, s, so);
            case Q6_K -> unpackQ6_K(s.bytes, blocks, s.quants, qo, s.scales, so);
            default -> throw new IllegalArgumentException("no unpacking for " + type);
        }
    }

    // ---- pass 1: unpacking to signed bytes in column order ----

    private static final long LOW_NIBBLES = 0x0F0F0F0F0F0F0F0FL;
    private static final long LOW_BITS = 0x0101010101010101L;
    /** 8 bytes of a byte array as one little-endian long (a plain 8-byte load or store once compiled). */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * {@code v - bias} in each byte, for bytes {@code v <= 255 - (bias' & 0x7F)} where {@code bias' = 256 - bias}:
     * adding the low 7 bits cannot carry into the next byte, and the top bit is then flipped.
     */
    private static long minus(long v, long negBias7, long top) {
        return (v + negBias7) ^ top;
    }

    private static final long TOP_BITS = 0x8080808080808080L;
    /** -32 mod 256 = 0xE0: 0x60 added, top bit flipped (6-bit values: at most 63 + 0x60 = 0x9F, no carry) */
    private static final long MINUS_32 = 0x6060606060606060L;

    /** 16-byte vectors for moving and splitting quants: supported wherever 4-lane floats are. */
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    /** Q4_0 (18 B: half d; uint8 qs[16]): y[j] = ((qs[j] &amp; 15) - 8) * d, y[j + 16] = ((qs[j] &gt;&gt; 4) - 8) * d. */
    private static void unpackQ4_0(byte[] b, int blocks, byte[] q, int qo, float[] scales, int so) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 18 * blk;
            scales[so + blk] = half(b, o);
            ByteVector v = ByteVector.fromArray(B16, b, o + 2);
            v.and((byte) 0x0F).sub((byte) 8).intoArray(q, qo + 32 * blk);
            highNibbles(v).sub((byte) 8).intoArray(q, qo + 32 * blk + 16);
        }
    }

    /** The high nibble of each byte, as a byte (x86 has no byte shift: an int shift, then a mask). */
    private static ByteVector highNibbles(ByteVector v) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    /**
     * Q4_K (144 B: half d, dmin; scales[12]; qs[128]): per 64 values, two sub-blocks of 32,
     * {@code d * sc * q - dmin * m}; the low nibbles of qs[32 g ..] then the high ones.
     */
    private static void unpackQ4_K(byte[] b, int blocks, byte[] q, int qo, Buffers s, int so) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 144 * blk;
            k4Scales(b, o, s, so + 8 * blk);
            for (int i = 0; i < 128; i += 16) {
                ByteVector v = ByteVector.fromArray(B16, b, o + 16 + i);
                int dst = qo + 256 * blk + 2 * (i & ~31) + (i & 31); // 64 g + l for qs[32 g + l]
                v.and((byte) 0x0F).intoArray(q, dst);
                highNibbles(v).intoArray(q, dst + 32);
            }
        }
    }

    /** Q5_K (176 B: half d, dmin; scales[12]; qh[32]; qs[128]): as Q4_K plus a fifth bit, bit 2g / 2g+1 of qh. */
    private static void unpackQ5_K(byte[] b, int blocks, byte[] q, int qo, Buffers s, int so) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 176 * blk;
            k4Scales(b, o, s, so + 8 * blk);
            for (int g = 0; g < 4; g++) {
                for (int i = 0; i < 32; i += 8) {
                    long v = (long) LONGS.get(b, o + 48 + 32 * g + i);
                    long h = (long) LONGS.get(b, o + 16 + i);
                    int dst = qo + 256 * blk + 64 * g + i;
                    LONGS.set(q, dst, (v & LOW_NIBBLES) | (((h >>> (2 * g)) & LOW_BITS) << 4));
                    LONGS.set(q, dst + 32, ((v >>> 4) & LOW_NIBBLES) | (((h >>> (2 * g + 1)) & LOW_BITS) << 4));
                }
            }
        }
    }

    /**
     * Q4_K/Q5_K: the 8 sub-block scales {@code d * sc} and mins {@code dmin * m} of the super-block at o. The 6-bit
     * fields of the 12 scale bytes are untangled 4 at a time in ints (ggml's {@code get_scale_min_k4}, as its AVX2
     * {@code vec_dot_q4_K} does with {@code utmp}): bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3;
     * scales 4-7 are the low nibbles of bytes 8-11 plus the top 2 bits of bytes 0-3, mins 4-7 the high nibbles plus
     * the top 2 bits of bytes 4-7.
     */
    private static void k4Scales(byte[] b, int o, Buffers s, int so) {
        float d = half(b, o);
        float min = half(b, o + 2);
        int s0 = (int) INTS.get(b, o + 4);
        int s1 = (int) INTS.get(b, o + 8);
        int s2 = (int) INTS.get(b, o + 12);
        int sc03 = s0 & 0x3F3F3F3F;
        int m03 = s1 & 0x3F3F3F3F;
        int sc47 = (s2 & 0x0F0F0F0F) | (((s0 >>> 6) & 0x03030303) << 4);
        int m47 = ((s2 >>> 4) & 0x0F0F0F0F) | (((s1 >>> 6) & 0x03030303) << 4);
        float[] scales = s.scales;
        float[] mins = s.mins;
        for (int j = 0; j < 4; j++) {
            int shift = 8 * j;
            scales[so + j] = d * ((sc03 >>> shift) & 0xFF);
            scales[so + 4 + j] = d * ((sc47 >>> shift) & 0xFF);
            mins[so + j] = min * ((m03 >>> shift) & 0xFF);
            mins[so + 4 + j] = min * ((m47 >>> shift) & 0xFF);
        }
    }

    /** Q6_K: the 16 scales {@code d * scales[k]} of the block at {@code b[o]} into {@code dst[at ..]}, 16 at a time. */
    private static void q6Scales(byte[] b, int o, float[] dst, int at) {
        float d = half(b, o + 208);
        if (L == 16) {
            ((FloatVector) ByteVector.fromArray(B16, b, o + 192).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                    .intoArray(dst, at);
            return;
        }
        for (int k = 0; k < 16; k++) {
            dst[at + k] = d * b[o + 192 + k];
        }
    }


    /** 4 bytes of a byte array as one little-endian int. */
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * Q6_K (210 B: ql[128]; qh[64]; int8 scales[16]; half d): per 128 values, four runs of 32 from the low and high
     * nibbles of ql and the four 2-bit fields of qh, minus 32, times {@code d * scale}; the scale of the 16 values at
     * position p is {@code scales[p / 16]}.
     */
    private static void unpackQ6_K(byte[] b, int blocks, byte[] q, int qo, float[] scales, int so) {
        for (int blk = 0; blk < blocks; blk++) {
            int o = 210 * blk;
            q6Scales(b, o, scales, so + 16 * blk);
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l += 8) {
                    long a = (long) LONGS.get(b, o + 64 * n + l);
                    long c = (long) LONGS.get(b, o + 64 * n + l + 32);
                    long h = (long) LONGS.get(b, o + 128 + 32 * n + l);
                    int dst = qo + 256 * blk + 128 * n + l;
                    LONGS.set(q, dst, minus((a & LOW_NIBBLES) | ((h & 0x0303030303030303L) << 4), MINUS_32, TOP_BITS));
                    LONGS.set(q, dst + 32,
                            minus((c & LOW_NIBBLES) | ((h & 0x0C0C0C0C0C0C0C0CL) << 2), MINUS_32, TOP_BITS));
                    LONGS.set(q, dst + 64,
                            minus(((a >>> 4) & LOW_NIBBLES) | (h & 0x3030303030303030L), MINUS_32, TOP_BITS));
                    LONGS.set(q, dst + 96,
                            minus(((c >>> 4) & LOW_NIBBLES) | ((h >>> 2) & 0x3030303030303030L), MINUS_32, TOP_BITS));
                }
            }
        }
    }

    // ---- pass 2: scaling (Vector API) ----

    /** {@link #L} signed bytes from {@code q[o]} as floats. */
    private static FloatVector bytesToFloats(byte[] q, int o) {
        return (FloatVector) ByteVector.fromArray(B, q, o).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Pass 2 for a batch: {@code dst[off + j] = q[j] * scale[j / size] (- min[j / size])} for the {@code count}
     * values of {@code slot}.
     */
    static void toFloats(Buffers s, int slot, int count, GgmlType type, float[] dst, int off) {
        int qo = s.at[slot];
        int so = slot * s.maxValues / 16;
        if (hasMins(type)) {
            toFloatsMin(s.src, qo, s.scales, s.mins, so, count, groupShift(type), dst, off);
        } else {
            toFloats(s.src, qo, gap(type), s.scales, so, count, groupShift(type), dst, off);
        }
    }

    // Flat loops, the scale looked up per vector: C2 compiles a short inner loop per group much worse (~2x), and
    // vector accumulators carried through nested loops get boxed on JDK 17 (4x slower).

    private static void toFloats(byte[] q, int qo, int gap, float[] scales, int so, int count, int shift, float[] y,
                                 int off) {
        for (int j = 0; j < count; j += L) {
            bytesToFloats(q, qo + j + gap * (j >>> 5)).mul(scales[so + (j >>> shift)]).intoArray(y, off + j);
        }
    }

    private static void toFloatsMin(byte[] q, int qo, float[] scales, float[] mins, int so, int count, int shift,
                                    float[] y, int off) {
        for (int j = 0; j < count; j += L) {
            int g = so + (j >>> shift);
            bytesToFloats(q, qo + j).mul(scales[g]).sub(mins[g]).intoArray(y, off + j);
        }
    }

    /**
     * Pass 2 fused with a one-token product, for slots 0..3 (4 rows, 4 independent FMA chains): the accumulator of
     * row i, {@code acc[ao + i * rowStride ..]}, takes {@code w_i[j] * x[xo + j]} for j in column order, with
     * {@code w_i[j]} exactly as {@link #toFloats} makes it. So the result is bit-identical to decoding then
     * multiplying.
     */
    static void dot4(Buffers s, int count, GgmlType type, float[] x, int xo, float[] acc, int ao, int rowStride) {
        if (hasMins(type)) {
            dot4Min(s.src, s.at[0], s.at[1], s.at[2], s.at[3], s.maxValues / 16, s.scales, s.mins, count,
                    groupShift(type), x, xo, acc, ao, rowStride);
        } else {
            dot4(s.src, gap(type), s.at[0], s.at[1], s.at[2], s.at[3], s.maxValues / 16, s.scales, count,
                    groupShift(type), x, xo, acc, ao, rowStride);
        }
    }

    private static void dot4(byte[] q, int gap, int o0, int o1, int o2, int o3, int ss, float[] scales, int count,
                             int shift, float[] x, int xo, float[] acc, int ao, int rowStride) {
        FloatVector c0 = FloatVector.fromArray(F, acc, ao);
        FloatVector c1 = FloatVector.fromArray(F, acc, ao + rowStride);
        FloatVector c2 = FloatVector.fromArray(F, acc, ao + 2 * rowStride);
        FloatVector c3 = FloatVector.fromArray(F, acc, ao + 3 * rowStride);
        for (int j = 0; j < count; j += L) {
            int g = j >>> shift;
            int qj = j + gap * (j >>> 5);
            FloatVector v = FloatVector.fromArray(F, x, xo + j);
            c0 = bytesToFloats(q, o0 + qj).mul(scales[g]).fma(v, c0);
            c1 = bytesToFloats(q, o1 + qj).mul(scales[ss + g]).fma(v, c1);
            c2 = bytesToFloats(q, o2 + qj).mul(scales[2 * ss + g]).fma(v, c2);
            c3 = bytesToFloats(q, o3 + qj).mul(scales[3 * ss + g]).fma(v, c3);
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + rowStride);
        c2.intoArray(acc, ao + 2 * rowStride);
        c3.intoArray(acc, ao + 3 * rowStride);
    }

    private static void dot4Min(byte[] q, int o0, int o1, int o2, int o3, int ss, float[] scales, float[] mins,
                                int count, int shift, float[] x, int xo, float[] acc, int ao, int rowStride) {
        FloatVector c0 = FloatVector.fromArray(F, acc, ao);
        FloatVector c1 = FloatVector.fromArray(F, acc, ao + rowStride);
        FloatVector c2 = FloatVector.fromArray(F, acc, ao + 2 * rowStride);
        FloatVector c3 = FloatVector.fromArray(F, acc, ao + 3 * rowStride);
        for (int j = 0; j < count; j += L) {
            int g = j >>> shift;
            FloatVector v = FloatVector.fromArray(F, x, xo + j);
            c0 = bytesToFloats(q, o0 + j).mul(scales[g]).sub(mins[g]).fma(v, c0);
            c1 = bytesToFloats(q, o1 + j).mul(scales[ss + g]).sub(mins[ss + g]).fma(v, c1);
            c2 = bytesToFloats(q, o2 + j).mul(scales[2 * ss + g]).sub(mins[2 * ss + g]).fma(v, c2);
            c3 = bytesToFloats(q, o3 + j).mul(scales[3 * ss + g]).sub(mins[3 * ss + g]).fma(v, c3);
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + rowStride);
        c2.intoArray(acc, ao + 2 * rowStride);
        c3.intoArray(acc, ao + 3 * rowStride);
    }

    /**
     * As {@link #dot4}, for 2 tokens (activation runs at {@code x[xo0]} and {@code x[xo1]}): each decoded weight vector
     * feeds both, so the decoding is paid once for the pair. Row i's accumulator for token t is at
     * {@code acc[ao + i * rowStride + t * L]}. Same operations per (row, token) as {@link #dot4}: bit-identical.
     */
    static void dot4x2(Buffers s, int count, GgmlType type, float[] x, int xo0, int xo1, float[] acc, int ao,
                       int rowStride) {
        if (hasMins(type)) {
            dot4x2Min(s, count, type, x, xo0, xo1, acc, ao, rowStride);
        } else {
            dot4x2Plain(s, count, type, x, xo0, xo1, acc, ao, rowStride);
        }
    }

    private static void dot4x2Plain(Buffers s, int count, GgmlType type, float[] x, int xo0, int xo1, float[] acc,
                                    int ao, int rowStride) {
        byte[] q = s.src;
        int gap = gap(type);
        int o0 = s.at[0];
        int o1 = s.at[1];
        int o2 = s.at[2];
        int o3 = s.at[3];
        int ss = s.maxValues / 16;
        int shift = groupShift(type);
        float[] sc = s.scales;
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao);
        FloatVector c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1);
        FloatVector c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2);
        FloatVector c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3);
        FloatVector c31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int j = 0; j < count; j += L) {
            int g = j >>> shift;
            int qj = j + gap * (j >>> 5);
            FloatVector v0 = FloatVector.fromArray(F, x, xo0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, xo1 + j);
            FloatVector w = bytesToFloats(q, o0 + qj).mul(sc[g]);
            c00 = w.fma(v0, c00);
            c01 = w.fma(v1, c01);
            w = bytesToFloats(q, o1 + qj).mul(sc[ss + g]);
            c10 = w.fma(v0, c10);
            c11 = w.fma(v1, c11);
            w = bytesToFloats(q, o2 + qj).mul(sc[2 * ss + g]);
            c20 = w.fma(v0, c20);
            c21 = w.fma(v1, c21);
            w = bytesToFloats(q, o3 + qj).mul(sc[3 * ss + g]);
            c30 = w.fma(v0, c30);
            c31 = w.fma(v1, c31);
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + L);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + L);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + L);
    }

    private static void dot4x2Min(Buffers s, int count, GgmlType type, float[] x, int xo0, int xo1, float[] acc, int ao,
                                  int rowStride) {
        byte[] q = s.src;
        int gap = gap(type);
        int o0 = s.at[0];
        int o1 = s.at[1];
        int o2 = s.at[2];
        int o3 = s.at[3];
        int ss = s.maxValues / 16;
        int shift = groupShift(type);
        float[] sc = s.scales;
        float[] ms = s.mins;
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao);
        FloatVector c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1);
        FloatVector c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2);
        FloatVector c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3);
        FloatVector c31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int j = 0; j < count; j += L) {
            int g = j >>> shift;
            int qj = j + gap * (j >>> 5);
            FloatVector v0 = FloatVector.fromArray(F, x, xo0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, xo1 + j);
            FloatVector w = bytesToFloats(q, o0 + qj).mul(sc[g]).sub(ms[g]);
            c00 = w.fma(v0, c00);
            c01 = w.fma(v1, c01);
            w = bytesToFloats(q, o1 + qj).mul(sc[ss + g]).sub(ms[ss + g]);
            c10 = w.fma(v0, c10);
            c11 = w.fma(v1, c11);
            w = bytesToFloats(q, o2 + qj).mul(sc[2 * ss + g]).sub(ms[2 * ss + g]);
            c20 = w.fma(v0, c20);
            c21 = w.fma(v1, c21);
            w = bytesToFloats(q, o3 + qj).mul(sc[3 * ss + g]).sub(ms[3 * ss + g]);
            c30 = w.fma(v0, c30);
            c31 = w.fma(v1, c31);
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + L);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + L);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + L);
    }

    /** As {@link #dot4x2}, for 4 tokens at {@code x[xo + t * cols]}: 16 accumulators, 4 decodes per 16 FMAs. */
    static void dot4x4(Buffers s, int count, GgmlType type, float[] x, int xo, int cols, float[] acc, int ao,
                       int rowStride) {
        if (hasMins(type)) {
            throw new IllegalArgumentException("no 4-token kernel for " + type + ": see fusedTokens");
        }
        dot4x4Plain(s, count, type, x, xo, cols, acc, ao, rowStride);
    }

    private static void dot4x4Plain(Buffers s, int count, GgmlType type, float[] x, int xo, int cols, float[] acc,
                                    int ao, int rowStride) {
        byte[] q = s.src;
        int gap = gap(type);
        int o0 = s.at[0];
        int o1 = s.at[1];
        int o2 = s.at[2];
        int o3 = s.at[3];
        int ss = s.maxValues / 16;
        int shift = groupShift(type);
        float[] sc = s.scales;
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao);
        FloatVector c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c02 = FloatVector.fromArray(F, acc, ao + 2 * L);
        FloatVector c03 = FloatVector.fromArray(F, acc, ao + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1);
        FloatVector c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c12 = FloatVector.fromArray(F, acc, a1 + 2 * L);
        FloatVector c13 = FloatVector.fromArray(F, acc, a1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2);
        FloatVector c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c22 = FloatVector.fromArray(F, acc, a2 + 2 * L);
        FloatVector c23 = FloatVector.fromArray(F, acc, a2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3);
        FloatVector c31 = FloatVector.fromArray(F, acc, a3 + L);
        FloatVector c32 = FloatVector.fromArray(F, acc, a3 + 2 * L);
        FloatVector c33 = FloatVector.fromArray(F, acc, a3 + 3 * L);
        int x1 = xo + cols;
        int x2 = xo + 2 * cols;
        int x3 = xo + 3 * cols;
        for (int j = 0; j < count; j += L) {
            int g = j >>> shift;
            int qj = j + gap * (j >>> 5);
            FloatVector v0 = FloatVector.fromArray(F, x, xo + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + j);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + j);
            FloatVector w = bytesToFloats(q, o0 + qj).mul(sc[g]);
            c00 = w.fma(v0, c00);
            c01 = w.fma(v1, c01);
            c02 = w.fma(v2, c02);
            c03 = w.fma(v3, c03);
            w = bytesToFloats(q, o1 + qj).mul(sc[ss + g]);
            c10 = w.fma(v0, c10);
            c11 = w.fma(v1, c11);
            c12 = w.fma(v2, c12);
            c13 = w.fma(v3, c13);
            w = bytesToFloats(q, o2 + qj).mul(sc[2 * ss + g]);
            c20 = w.fma(v0, c20);
            c21 = w.fma(v1, c21);
            c22 = w.fma(v2, c22);
            c23 = w.fma(v3, c23);
            w = bytesToFloats(q, o3 + qj).mul(sc[3 * ss + g]);
            c30 = w.fma(v0, c30);
            c31 = w.fma(v1, c31);
            c32 = w.fma(v2, c32);
            c33 = w.fma(v3, c33);
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c02.intoArray(acc, ao + 2 * L);
        c03.intoArray(acc, ao + 3 * L);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + L);
        c12.intoArray(acc, a1 + 2 * L);
        c13.intoArray(acc, a1 + 3 * L);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + L);
        c22.intoArray(acc, a2 + 2 * L);
        c23.intoArray(acc, a2 + 3 * L);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + L);
        c32.intoArray(acc, a3 + 2 * L);
        c33.intoArray(acc, a3 + 3 * L);
    }

    /** As {@link #dot4}, for the one row in {@code slot} (rows left over from the 4-row groups). */
    static void dot1(Buffers s, int slot, int count, GgmlType type, float[] x, int xo, float[] acc, int ao) {
        byte[] q = s.src;
        int gap = gap(type);
        int qo = s.at[slot];
        int so = slot * s.maxValues / 16;
        int shift = groupShift(type);
        float[] scales = s.scales;
        float[] ms = s.mins;
        FloatVector c0 = FloatVector.fromArray(F, acc, ao);
        if (hasMins(type)) {
            for (int j = 0; j < count; j += L) {
                int g = so + (j >>> shift);
                c0 = bytesToFloats(q, qo + j).mul(scales[g]).sub(ms[g]).fma(FloatVector.fromArray(F, x, xo + j), c0);
            }
        } else {
            for (int j = 0; j < count; j += L) {
                int g = so + (j >>> shift);
                c0 = bytesToFloats(q, qo + j + gap * (j >>> 5)).mul(scales[g])
                        .fma(FloatVector.fromArray(F, x, xo + j), c0);
            }
        }
        c0.intoArray(acc, ao);
    }

    /**
     * Every half as a float (256 KiB): block scales are decoded by one load instead of {@code Float16.toFloat}'s
     * branches, which cost as much as the vector work on a 32-value block. Only the few lines of the scales a model
     * uses stay in cache.
     */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
            HALF_TO_FLOAT[h] = org.mixtralspark.engine.tensor.Float16.toFloat(h);
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
    static void f16(short[] src, int srcOff, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += L) {
            IntVector h = (IntVector) ShortVector.fromArray(S, src, srcOff + i).convertShape(VectorOperators.S2I, I, 0);
            IntVector scaled = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            FloatVector f = scaled.reinterpretAsFloats().mul(0x1p112f);
            var special = h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00);
            if (special.anyTrue()) {
                f = f.blend(scaled.or(0x7000_0000).reinterpretAsFloats(), special.cast(F));
            }
            f.intoArray(dst, off + i);
        }
    }

    /** Short lanes twice as many as {@link #F}: the same bits, read as {@link #L} int lanes of two halves each. */
    private static final VectorSpecies<Short> S2 = F == null ? null
            : VectorSpecies.of(short.class, F.vectorShape());

    /**
     * Halves to floats in pair-split order, as {@link #f16} for finite values: each int lane holds an even half (low
     * 16 bits) and an odd one (high 16 bits). The odd half needs no shift to the top ({@code p >> 3} then the mask
     * drops the even half's bits); the even one one more. Returns whether any half was an infinity or a NaN
     * (exponent 31: {@code (h & 0x7C00) + 0x0400} carries into bit 15, for both halves of a lane at once); the run is
     * then wrong there and must be decoded again with {@link #f16}.
     */
    static boolean f16Split(short[] src, int count, float[] dst, int off) {
        IntVector special = IntVector.zero(I);
        for (int i = 0; i < count; i += 2 * L) {
            IntVector p = ShortVector.fromArray(S2, src, i).reinterpretAsInts();
            IntVector even = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            IntVector odd = p.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            even.reinterpretAsFloats().mul(0x1p112f).intoArray(dst, off + i);
            odd.reinterpretAsFloats().mul(0x1p112f).intoArray(dst, off + i + L);
            special = special.or(p.and(0x7C00_7C00).add(0x0400_0400));
        }
        return special.and(0x8000_8000).compare(VectorOperators.NE, 0).anyTrue();
    }

    /** {@link #f16Split} for halves known to be finite ({@link MatrixTables#halvesFinite}): no check. */
    static void f16SplitFinite(short[] src, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += 2 * L) {
            IntVector p = ShortVector.fromArray(S2, src, i).reinterpretAsInts();
            IntVector even = p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            IntVector odd = p.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000);
            even.reinterpretAsFloats().mul(0x1p112f).intoArray(dst, off + i);
            odd.reinterpretAsFloats().mul(0x1p112f).intoArray(dst, off + i + L);
        }
    }

    // ---- F16/BF16 on the heap: decoded in registers, fused with the product (pair-split order, as plain() gives) ----

    /**
     * 4 rows of F16 (all finite) or BF16 halves, read in place from a matrix's heap copy at {@code h[o0..]} ..
     * {@code h[o3..]}, times 1 or 2 tokens ({@code xo1 < 0}: one) of split activations: row i's accumulator for token
     * t is at {@code acc[ao + i * rowStride + t * L]}. Each pair of vectors is decoded with the operations of
     * {@link #f16SplitFinite} / {@link #bf16Split} and multiplied in the order of the decoded run: bit-identical.
     */
    static void halvesDot4(GgmlType type, short[] h, int o0, int o1, int o2, int o3, int count, float[] x, int xo0,
                           int xo1, float[] acc, int ao, int rowStride) {
        boolean bf16 = type == GgmlType.BF16;
        if (xo1 < 0) {
            if (bf16) {
                bf16Dot4x1(h, o0, o1, o2, o3, count, x, xo0, acc, ao, rowStride);
            } else {
                f16Dot4x1(h, o0, o1, o2, o3, count, x, xo0, acc, ao, rowStride);
            }
        } else if (bf16) {
            bf16Dot4x2(h, o0, o1, o2, o3, count, x, xo0, xo1, acc, ao, rowStride);
        } else {
            f16Dot4x2(h, o0, o1, o2, o3, count, x, xo0, xo1, acc, ao, rowStride);
        }
    }

    // Written out, with no helper methods: a small helper that C2 has already compiled on its own is not inlined
    // again ("already compiled into a big method"), and its vectors are then boxed: the F16 one-token kernel ran
    // 19 ms with helpers for 7.6 ms without (14336x4096, one thread).

    private static void f16Dot4x1(short[] h, int o0, int o1, int o2, int o3, int count, float[] x, int xo,
                                  float[] acc, int ao, int rowStride) {
        FloatVector c0 = FloatVector.fromArray(F, acc, ao);
        FloatVector c1 = FloatVector.fromArray(F, acc, ao + rowStride);
        FloatVector c2 = FloatVector.fromArray(F, acc, ao + 2 * rowStride);
        FloatVector c3 = FloatVector.fromArray(F, acc, ao + 3 * rowStride);
        for (int j = 0; j < count; j += 2 * L) {
            FloatVector ve = FloatVector.fromArray(F, x, xo + j);
            FloatVector vo = FloatVector.fromArray(F, x, xo + j + L);
            IntVector p0 = ShortVector.fromArray(S2, h, o0 + j).reinterpretAsInts();
            FloatVector e0 = p0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d0 = p0.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c0 = d0.fma(vo, e0.fma(ve, c0));
            IntVector p1 = ShortVector.fromArray(S2, h, o1 + j).reinterpretAsInts();
            FloatVector e1 = p1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d1 = p1.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c1 = d1.fma(vo, e1.fma(ve, c1));
            IntVector p2 = ShortVector.fromArray(S2, h, o2 + j).reinterpretAsInts();
            FloatVector e2 = p2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d2 = p2.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c2 = d2.fma(vo, e2.fma(ve, c2));
            IntVector p3 = ShortVector.fromArray(S2, h, o3 + j).reinterpretAsInts();
            FloatVector e3 = p3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d3 = p3.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c3 = d3.fma(vo, e3.fma(ve, c3));
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + rowStride);
        c2.intoArray(acc, ao + 2 * rowStride);
        c3.intoArray(acc, ao + 3 * rowStride);
    }

    private static void bf16Dot4x1(short[] h, int o0, int o1, int o2, int o3, int count, float[] x, int xo,
                                   float[] acc, int ao, int rowStride) {
        FloatVector c0 = FloatVector.fromArray(F, acc, ao);
        FloatVector c1 = FloatVector.fromArray(F, acc, ao + rowStride);
        FloatVector c2 = FloatVector.fromArray(F, acc, ao + 2 * rowStride);
        FloatVector c3 = FloatVector.fromArray(F, acc, ao + 3 * rowStride);
        for (int j = 0; j < count; j += 2 * L) {
            FloatVector ve = FloatVector.fromArray(F, x, xo + j);
            FloatVector vo = FloatVector.fromArray(F, x, xo + j + L);
            IntVector p0 = ShortVector.fromArray(S2, h, o0 + j).reinterpretAsInts();
            FloatVector e0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d0 = p0.and(0xFFFF_0000).reinterpretAsFloats();
            c0 = d0.fma(vo, e0.fma(ve, c0));
            IntVector p1 = ShortVector.fromArray(S2, h, o1 + j).reinterpretAsInts();
            FloatVector e1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d1 = p1.and(0xFFFF_0000).reinterpretAsFloats();
            c1 = d1.fma(vo, e1.fma(ve, c1));
            IntVector p2 = ShortVector.fromArray(S2, h, o2 + j).reinterpretAsInts();
            FloatVector e2 = p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d2 = p2.and(0xFFFF_0000).reinterpretAsFloats();
            c2 = d2.fma(vo, e2.fma(ve, c2));
            IntVector p3 = ShortVector.fromArray(S2, h, o3 + j).reinterpretAsInts();
            FloatVector e3 = p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d3 = p3.and(0xFFFF_0000).reinterpretAsFloats();
            c3 = d3.fma(vo, e3.fma(ve, c3));
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + rowStride);
        c2.intoArray(acc, ao + 2 * rowStride);
        c3.intoArray(acc, ao + 3 * rowStride);
    }

    private static void f16Dot4x2(short[] h, int o0, int o1, int o2, int o3, int count, float[] x, int xo0, int xo1,
                                  float[] acc, int ao, int rowStride) {
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao);
        FloatVector c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1);
        FloatVector c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2);
        FloatVector c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3);
        FloatVector c31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int j = 0; j < count; j += 2 * L) {
            FloatVector ve0 = FloatVector.fromArray(F, x, xo0 + j);
            FloatVector vo0 = FloatVector.fromArray(F, x, xo0 + j + L);
            FloatVector ve1 = FloatVector.fromArray(F, x, xo1 + j);
            FloatVector vo1 = FloatVector.fromArray(F, x, xo1 + j + L);
            IntVector p0 = ShortVector.fromArray(S2, h, o0 + j).reinterpretAsInts();
            FloatVector e0 = p0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d0 = p0.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c00 = d0.fma(vo0, e0.fma(ve0, c00));
            c01 = d0.fma(vo1, e0.fma(ve1, c01));
            IntVector p1 = ShortVector.fromArray(S2, h, o1 + j).reinterpretAsInts();
            FloatVector e1 = p1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d1 = p1.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c10 = d1.fma(vo0, e1.fma(ve0, c10));
            c11 = d1.fma(vo1, e1.fma(ve1, c11));
            IntVector p2 = ShortVector.fromArray(S2, h, o2 + j).reinterpretAsInts();
            FloatVector e2 = p2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d2 = p2.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c20 = d2.fma(vo0, e2.fma(ve0, c20));
            c21 = d2.fma(vo1, e2.fma(ve1, c21));
            IntVector p3 = ShortVector.fromArray(S2, h, o3 + j).reinterpretAsInts();
            FloatVector e3 = p3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector d3 = p3.lanewise(VectorOperators.ASHR, 3).and(0x8FFF_E000).reinterpretAsFloats().mul(0x1p112f);
            c30 = d3.fma(vo0, e3.fma(ve0, c30));
            c31 = d3.fma(vo1, e3.fma(ve1, c31));
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + L);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + L);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + L);
    }

    private static void bf16Dot4x2(short[] h, int o0, int o1, int o2, int o3, int count, float[] x, int xo0, int xo1,
                                   float[] acc, int ao, int rowStride) {
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao);
        FloatVector c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1);
        FloatVector c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2);
        FloatVector c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3);
        FloatVector c31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int j = 0; j < count; j += 2 * L) {
            FloatVector ve0 = FloatVector.fromArray(F, x, xo0 + j);
            FloatVector vo0 = FloatVector.fromArray(F, x, xo0 + j + L);
            FloatVector ve1 = FloatVector.fromArray(F, x, xo1 + j);
            FloatVector vo1 = FloatVector.fromArray(F, x, xo1 + j + L);
            IntVector p0 = ShortVector.fromArray(S2, h, o0 + j).reinterpretAsInts();
            FloatVector e0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d0 = p0.and(0xFFFF_0000).reinterpretAsFloats();
            c00 = d0.fma(vo0, e0.fma(ve0, c00));
            c01 = d0.fma(vo1, e0.fma(ve1, c01));
            IntVector p1 = ShortVector.fromArray(S2, h, o1 + j).reinterpretAsInts();
            FloatVector e1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d1 = p1.and(0xFFFF_0000).reinterpretAsFloats();
            c10 = d1.fma(vo0, e1.fma(ve0, c10));
            c11 = d1.fma(vo1, e1.fma(ve1, c11));
            IntVector p2 = ShortVector.fromArray(S2, h, o2 + j).reinterpretAsInts();
            FloatVector e2 = p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d2 = p2.and(0xFFFF_0000).reinterpretAsFloats();
            c20 = d2.fma(vo0, e2.fma(ve0, c20));
            c21 = d2.fma(vo1, e2.fma(ve1, c21));
            IntVector p3 = ShortVector.fromArray(S2, h, o3 + j).reinterpretAsInts();
            FloatVector e3 = p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector d3 = p3.and(0xFFFF_0000).reinterpretAsFloats();
            c30 = d3.fma(vo0, e3.fma(ve0, c30));
            c31 = d3.fma(vo1, e3.fma(ve1, c31));
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + L);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + L);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + L);
    }

    /** bfloat16 in pair-split order: the even half shifted to the top, the odd one masked. */
    static void bf16Split(short[] src, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += 2 * L) {
            IntVector p = ShortVector.fromArray(S2, src, i).reinterpretAsInts();
            p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
            p.and(0xFFFF_0000).reinterpretAsFloats().intoArray(dst, off + i + L);
        }
    }

    /** bfloat16 is the top half of a float. */
    static void bf16(short[] src, int count, float[] dst, int off) {
        for (int i = 0; i < count; i += L) {
            IntVector h = (IntVector) ShortVector.fromArray(S, src, i).convertShape(VectorOperators.S2I, I, 0);
            h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
        }
    }
}
