package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.Dequantize;
import org.mixtralspark.engine.tensor.WeightMatrix;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.mixtralspark.engine.tensor.GgmlType;

import java.util.Objects;

/**
 * {@link Matmul} on the Vector API, blocked over rows and tokens: {@code out (T, rows) = x (T, cols) @ W^T}.
 *
 * <p>Each thread takes groups of {@link #ROW_TILE} rows. For each group it walks the columns in runs of
 * {@link #RUN} values: the run of every row in the group is decoded once into fp32 lanes in a per-thread array
 * ({@link VectorDecode}; 16 KiB, stays in L1), then multiplied into all the tokens of the batch by a register-blocked
 * micro-kernel of 4 rows x 4 tokens (16 vector accumulators, 2 FMAs per load). Small batches, where decoding is the
 * bottleneck, skip the decoded run and decode in registers with the very same operations, so the result is the same to
 * the bit: quantised types up to {@link #FUSED_TOKENS} tokens ({@link VectorDecode#dot4}, {@code dot4x2},
 * {@code dot4x4}), F16/BF16 weights on the heap up to {@link #FUSED_HALF_TOKENS} ({@link VectorDecode#halvesDot4}).
 * Weights copied to the heap ({@link WeightMatrix#onHeap()}) are read in place where that is faster (Q8_0, F16,
 * BF16); otherwise each run is copied into a small per-thread array first. Every weight byte is read from memory once
 * per call, whatever the batch, for batches of up to {@link #TOKEN_BLOCK} tokens; larger batches are cut into blocks
 * of that many tokens (the weights are then read once per block, which keeps the activations of a block in cache).
 *
 * <p>Numerics: fp32 activations, fp32 weights as {@link Dequantize} decodes them, fp32 accumulation. Each
 * (row, token) pair has one vector accumulator whose lanes take the products in column order, followed by a fixed
 * pairwise sum of the lanes and a sequential scalar tail: the sum order depends only on {@code cols} and the lane
 * count, never on the batch size, the tile a token falls in or the thread count, so a token's result is bit-identical
 * whatever batch it is computed in. Results differ from {@link ScalarMatmul} only by the order of the sums.
 *
 * <p>The species is picked once: the preferred one, or {@code -Dmixtral.vector.bits=128|256|512}; {@code 0}
 * disables the Vector API (then {@link CpuMath#exact()} takes the scalar path). On Zen 4, 256 bits
 * ({@code -XX:MaxVectorSize=32}) is as fast as 512 for a memory-bound F32 GEMV (DESIGN §5), but the quantised
 * kernels, bound by decoding, ran 10-40% slower with it for one token (measured on Zen 4, JDK 17): keep the default.
 */
public final class VectorMatmul implements Matmul {

    static final VectorSpecies<Float> SPECIES = pickSpecies();

    /** Rows decoded together and multiplied by the 4x4 micro-kernel. */
    static final int ROW_TILE = 4;
    /** Tokens per micro-kernel call. */
    static final int TOKEN_TILE = 4;
    /** Values of a row decoded at a time: a multiple of every block size (256); 4 rows of it are 16 KiB. */
    static final int RUN = 1024;
    /**
     * Distance between the decoded rows in the scratch: a run plus two cache lines, so that the 4 rows (and the 4
     * activation rows, whose distance is a multiple of 4 KiB for usual widths) do not all fall in the same L1 sets.
     */
    static final int W_STRIDE = RUN + 32;
    /**
     * Most tokens whose products decode quantised weights in registers ({@link VectorDecode#dot4x4} and friends,
     * once per 4 tokens); larger batches decode each run once into memory and share it ({@link #multiplyRun}).
     * Measured on Zen 4 (MatmulCpuTime, 14336x4096, 1 thread): fused is faster up to 16 tokens for every type
     * without mins (Q8_0 on the heap: 8 tokens 16.4 against 24.3 ms, 16 tokens 27.5 against 35.2 ms), and still for
     * Q8_0 at 32, but Q4_0 and Q6_K lose past 16.
     */
    static final int FUSED_TOKENS = Integer.getInteger("mixtral.fused.tokens", 16);
    /**
     * Most tokens whose products read F16/BF16 weights on the heap in place and decode them in registers, 2 tokens
     * per pass ({@link VectorDecode#halvesDot4}); more decode each run once into memory. F16, 14336x4096, one thread:
     * 1 token 7.5 ms (15.7 GB/s, against 15.8 ms through a decoded run), 8 tokens 18.4 against 22.4 ms, equal at 16.
     */
    static final int FUSED_HALF_TOKENS = Integer.getInteger("mixtral.fused.halfTokens", 8);
    /** Most tokens sharing one pass over the weights: their accumulators and activation runs stay in L1/L2. */
    static final int TOKEN_BLOCK = 64;
    /** Least weight bytes a thread takes at a time, to amortise handing out work. */
    private static final int MIN_BYTES_PER_CHUNK = 32 << 10;

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    /** The calling thread's activations in pair-split order (F16/BF16 weights), grown as batches need. */
    private final ThreadLocal<float[]> splitActivations = ThreadLocal.withInitial(() -> new float[0]);

    public static boolean isAvailable() {
        return SPECIES != null;
    }

    /** Per-thread buffers (about 40 KiB), allocated on a thread's first call and reused. */
    private static final class Scratch {
        /** Decoded weights: ROW_TILE runs of RUN floats, W_STRIDE apart. */
        final float[] w = new float[ROW_TILE * W_STRIDE];
        /** The decoders' buffers for one run. */
        final VectorDecode.Buffers decode = new VectorDecode.Buffers(RUN, ROW_TILE);
        /** Lane accumulators, (ROW_TILE, TOKEN_BLOCK, lanes). */
        final float[] acc = new float[ROW_TILE * TOKEN_BLOCK * SPECIES.length()];
        /** The scalar tail of a row (plain types: cols past the last whole vector, or pair of vectors for F16/BF16). */
        final float[] tail = new float[2 * SPECIES.length()];
    }

    @Override
    public void apply(WeightMatrix w, float[] x, int tokens, float[] out, int outStride, ThreadTeam team) {
        int rows = w.rows();
        int cols = w.cols();
        if (tokens < 0 || outStride < rows) {
            throw new IllegalArgumentException("tokens = " + tokens + ", outStride = " + outStride + " for " + w.name()
                    + " with " + rows + " rows");
        }
        if (tokens == 0) {
            return;
        }
        Objects.checkFromIndexSize(0, (long) tokens * cols, x.length);
        Objects.checkFromIndexSize(0, (long) (tokens - 1) * outStride + rows, out.length);
        int groups = (rows + ROW_TILE - 1) / ROW_TILE;
        long bytesPerGroup = ROW_TILE * w.rowBytes() * Math.max(1, Math.min(tokens, TOKEN_BLOCK) / TOKEN_TILE);
        int grain = (int) Math.max(1, MIN_BYTES_PER_CHUNK / bytesPerGroup);
        float[] xv = x;
        if (VectorDecode.isPairSplit(w.type())) {
            // the weights come out of the decoder in pair-split order: split the activations' vector part alike
            int vectorCols = vectorCols(w.type(), cols);
            xv = splitActivations.get();
            if (xv.length < tokens * cols) {
                xv = new float[tokens * cols];
                splitActivations.set(xv);
            }
            for (int t = 0; t < tokens; t++) {
                VectorDecode.split(x, t * cols, vectorCols, xv, t * cols);
            }
        }
        float[] xVector = xv;
        MatrixTables tables = MatrixTables.of(w);
        team.forRange(groups, grain, (start, end) -> rowGroups(w, tables, x, xVector, tokens, out, outStride,
                start * ROW_TILE, Math.min(rows, end * ROW_TILE)));
    }

    /**
     * Columns the vector kernels take, from 0; the rest (fewer than a vector or two of an F32/F16/BF16 row) is the
     * scalar tail. Quantised rows: all of them (blocks are multiples of 32 values).
     */
    private static int vectorCols(GgmlType type, int cols) {
        int unit = VectorDecode.isPairSplit(type) ? 2 * SPECIES.length() : SPECIES.length();
        return cols - cols % unit;
    }

    /**
     * Rows {@code [rowStart, rowEnd)} for every token: {@code x} as given, {@code xv} the same or, for pair-split
     * types, with each token's vector part split alike (the scalar tail reads {@code x}).
     */
    private void rowGroups(WeightMatrix w, MatrixTables tables, float[] x, float[] xv, int tokens, float[] out,
                           int outStride, int rowStart, int rowEnd) {
        Scratch s = scratch.get();
        int lanes = SPECIES.length();
        int cols = w.cols();
        int vectorCols = vectorCols(w.type(), cols);
        boolean quantised = VectorDecode.isUnpacked(w.type());
        GgmlType type = w.type();
        for (int t0 = 0; t0 < tokens; t0 += TOKEN_BLOCK) {
            int tn = Math.min(TOKEN_BLOCK, tokens - t0);
            for (int r0 = rowStart; r0 < rowEnd; r0 += ROW_TILE) {
                int rn = Math.min(ROW_TILE, rowEnd - r0);
                java.util.Arrays.fill(s.acc, 0, rn * tn * lanes, 0f);
                for (int c0 = 0; c0 < vectorCols; c0 += RUN) {
                    int k = Math.min(RUN, vectorCols - c0);
                    if (!quantised) {
                        short[] halves = w.heapHalves();
                        if (halves != null && tn <= FUSED_HALF_TOKENS && rn == ROW_TILE
                                && (type == GgmlType.BF16 || tables.halvesFinite)) {
                            // F16/BF16 on the heap, a few tokens: read in place, decoded in registers, 2 at a time
                            int o0 = (int) (w.rowOffset(r0) / 2) + c0;
                            int o1 = (int) (w.rowOffset(r0 + 1) / 2) + c0;
                            int o2 = (int) (w.rowOffset(r0 + 2) / 2) + c0;
                            int o3 = (int) (w.rowOffset(r0 + 3) / 2) + c0;
                            for (int t = 0; t < tn; t += 2) {
                                int xo = (t0 + t) * cols + c0;
                                VectorDecode.halvesDot4(type, halves, o0, o1, o2, o3, k, xv, xo,
                                        t + 1 < tn ? xo + cols : -1, s.acc, t * lanes, tn * lanes);
                            }
                            continue;
                        }
                        for (int i = 0; i < rn; i++) {
                            VectorDecode.plain(w, tables, r0 + i, c0, k, s.decode, s.w, i * W_STRIDE);
                        }
                        multiplyRun(s, rn, xv, t0 * cols + c0, cols, tn, k);
                        continue;
                    }
                    for (int i = 0; i < rn; i++) {
                        VectorDecode.unpack(w, tables, r0 + i, c0, k, s.decode, i);
                    }
                    if (tn <= Math.min(FUSED_TOKENS, VectorDecode.fusedTokens(type)) && rn == ROW_TILE) {
                        // a few tokens: scale and multiply in registers, no decoded run in memory
                        fusedRun(s.decode, k, type, x, t0 * cols + c0, cols, tn, s.acc);
                        continue;
                    }
                    if (tn == 1) {
                        // fewer than 4 rows left, one token
                        for (int i = 0; i < rn; i++) {
                            VectorDecode.dot1(s.decode, i, k, type, x, t0 * cols + c0, s.acc, i * lanes);
                        }
                        continue;
                    }
                    for (int i = 0; i < rn; i++) {
                        VectorDecode.toFloats(s.decode, i, k, type, s.w, i * W_STRIDE);
                    }
                    multiplyRun(s, rn, x, t0 * cols + c0, cols, tn, k);
                }
                finish(w, s, x, t0, tn, r0, rn, vectorCols, out, outStride);
            }
        }
    }

    /**
     * Up to {@link #FUSED_TOKENS} tokens on 4 unpacked rows, decoding in registers: 4 tokens at a time (not for the
     * types with mins), then 2, then 1. Accumulators as {@link #multiplyRun} lays them out: row i, token t at
     * {@code acc[(i * tn + t) * lanes]}.
     */
    private static void fusedRun(VectorDecode.Buffers d, int k, GgmlType type, float[] x, int xo, int cols, int tn,
                                 float[] acc) {
        int lanes = SPECIES.length();
        int rowStride = tn * lanes;
        int t = 0;
        for (; t + 4 <= tn && VectorDecode.hasTile4x4(type); t += 4) {
            VectorDecode.dot4x4(d, k, type, x, xo + t * cols, cols, acc, t * lanes, rowStride);
        }
        for (; t + 2 <= tn; t += 2) {
            VectorDecode.dot4x2(d, k, type, x, xo + t * cols, xo + (t + 1) * cols, acc, t * lanes, rowStride);
        }
        if (t < tn) {
            VectorDecode.dot4(d, k, type, x, xo + t * cols, acc, t * lanes, rowStride);
        }
    }

    /**
     * {@code acc[i, t] += w[i, 0..k) * x[t, 0..k)} lane-wise for rn rows and tn tokens; token t's run starts at
     * {@code x[xo + t * cols]}.
     */
    private static void multiplyRun(Scratch s, int rn, float[] x, int xo, int cols, int tn, int k) {
        int lanes = SPECIES.length();
        if (rn == ROW_TILE) {
            int t = 0;
            for (; t + TOKEN_TILE <= tn; t += TOKEN_TILE) {
                tile4x4(s.w, x, xo + t * cols, cols, k, s.acc, t * lanes, tn * lanes);
            }
            for (; t < tn; t++) {
                tile4x1(s.w, x, xo + t * cols, k, s.acc, t * lanes, tn * lanes);
            }
        } else {
            for (int i = 0; i < rn; i++) {
                int t = 0;
                for (; t + TOKEN_TILE <= tn; t += TOKEN_TILE) {
                    tile1x4(s.w, i * W_STRIDE, x, xo + t * cols, cols, k, s.acc, (i * tn + t) * lanes);
                }
                for (; t < tn; t++) {
                    tile1x1(s.w, i * W_STRIDE, x, xo + t * cols, k, s.acc, (i * tn + t) * lanes);
                }
            }
        }
    }

    /** Lane sums, the scalar tail, and the results of rows r0.. for tokens t0.. into {@code out}. */
    private static void finish(WeightMatrix w, Scratch s, float[] x, int t0, int tn, int r0, int rn, int vectorCols,
                               float[] out, int outStride) {
        int lanes = SPECIES.length();
        int cols = w.cols();
        int tailCols = cols - vectorCols;
        for (int i = 0; i < rn; i++) {
            if (tailCols > 0) {
                Dequantize.row(w.type(), w.data(), w.rowOffset(r0 + i) + w.type().bytesFor(vectorCols),
                        s.tail, 0, tailCols);
            }
            for (int t = 0; t < tn; t++) {
                float sum = sumLanes(s.acc, (i * tn + t) * lanes, lanes);
                int xo = (t0 + t) * cols + vectorCols;
                for (int j = 0; j < tailCols; j++) {
                    sum += s.tail[j] * x[xo + j];
                }
                out[(t0 + t) * outStride + r0 + i] = sum;
            }
        }
    }

    /**
     * The lanes of {@code a[o .. o + n)} summed pairwise in a fixed order (the upper half folded onto the lower, until
     * one is left), in scalar code: {@code reduceLanes(ADD)} leaves the order to the implementation, and it could
     * differ between the interpreter and compiled code. Unrolled for 16, 8 and 4 lanes (same sums, in registers).
     */
    static float sumLanes(float[] a, int o, int n) {
        switch (n) {
            case 16 -> {
                float s0 = a[o] + a[o + 8];
                float s1 = a[o + 1] + a[o + 9];
                float s2 = a[o + 2] + a[o + 10];
                float s3 = a[o + 3] + a[o + 11];
                float s4 = a[o + 4] + a[o + 12];
                float s5 = a[o + 5] + a[o + 13];
                float s6 = a[o + 6] + a[o + 14];
                float s7 = a[o + 7] + a[o + 15];
                return sum8(s0, s1, s2, s3, s4, s5, s6, s7);
            }
            case 8 -> {
                return sum8(a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7]);
            }
            case 4 -> {
                return (a[o] + a[o + 2]) + (a[o + 1] + a[o + 3]);
            }
            default -> {
                for (int h = n / 2; h >= 1; h /= 2) {
                    for (int j = 0; j < h; j++) {
                        a[o + j] += a[o + j + h];
                    }
                }
                return a[o];
            }
        }
    }

    private static float sum8(float s0, float s1, float s2, float s3, float s4, float s5, float s6, float s7) {
        float t0 = s0 + s4;
        float t1 = s1 + s5;
        float t2 = s2 + s6;
        float t3 = s3 + s7;
        return (t0 + t2) + (t1 + t3);
    }

    // Micro-kernels. Rows of the decoded run are W_STRIDE floats apart in w; accumulators are `lanes` floats each, token t
    // of row i at acc[ao + i * rowStride + t * lanes]. One FMA per (row, token, lane vector), in column order.

    /** 4 rows x 4 tokens: 16 accumulators, 8 loads per 16 FMAs. */
    private static void tile4x4(float[] w, float[] x, int xo, int cols, int k, float[] acc, int ao, int rowStride) {
        VectorSpecies<Float> sp = SPECIES;
        int l = sp.length();
        int a0 = ao;
        int a1 = ao + rowStride;
        int a2 = ao + 2 * rowStride;
        int a3 = ao + 3 * rowStride;
        FloatVector c00 = FloatVector.fromArray(sp, acc, a0);
        FloatVector c01 = FloatVector.fromArray(sp, acc, a0 + l);
        FloatVector c02 = FloatVector.fromArray(sp, acc, a0 + 2 * l);
        FloatVector c03 = FloatVector.fromArray(sp, acc, a0 + 3 * l);
        FloatVector c10 = FloatVector.fromArray(sp, acc, a1);
        FloatVector c11 = FloatVector.fromArray(sp, acc, a1 + l);
        FloatVector c12 = FloatVector.fromArray(sp, acc, a1 + 2 * l);
        FloatVector c13 = FloatVector.fromArray(sp, acc, a1 + 3 * l);
        FloatVector c20 = FloatVector.fromArray(sp, acc, a2);
        FloatVector c21 = FloatVector.fromArray(sp, acc, a2 + l);
        FloatVector c22 = FloatVector.fromArray(sp, acc, a2 + 2 * l);
        FloatVector c23 = FloatVector.fromArray(sp, acc, a2 + 3 * l);
        FloatVector c30 = FloatVector.fromArray(sp, acc, a3);
        FloatVector c31 = FloatVector.fromArray(sp, acc, a3 + l);
        FloatVector c32 = FloatVector.fromArray(sp, acc, a3 + 2 * l);
        FloatVector c33 = FloatVector.fromArray(sp, acc, a3 + 3 * l);
        int x0 = xo;
        int x1 = xo + cols;
        int x2 = xo + 2 * cols;
        int x3 = xo + 3 * cols;
        for (int j = 0; j < k; j += l) {
            FloatVector w0 = FloatVector.fromArray(sp, w, j);
            FloatVector w1 = FloatVector.fromArray(sp, w, W_STRIDE + j);
            FloatVector w2 = FloatVector.fromArray(sp, w, 2 * W_STRIDE + j);
            FloatVector w3 = FloatVector.fromArray(sp, w, 3 * W_STRIDE + j);
            FloatVector v = FloatVector.fromArray(sp, x, x0 + j);
            c00 = w0.fma(v, c00);
            c10 = w1.fma(v, c10);
            c20 = w2.fma(v, c20);
            c30 = w3.fma(v, c30);
            v = FloatVector.fromArray(sp, x, x1 + j);
            c01 = w0.fma(v, c01);
            c11 = w1.fma(v, c11);
            c21 = w2.fma(v, c21);
            c31 = w3.fma(v, c31);
            v = FloatVector.fromArray(sp, x, x2 + j);
            c02 = w0.fma(v, c02);
            c12 = w1.fma(v, c12);
            c22 = w2.fma(v, c22);
            c32 = w3.fma(v, c32);
            v = FloatVector.fromArray(sp, x, x3 + j);
            c03 = w0.fma(v, c03);
            c13 = w1.fma(v, c13);
            c23 = w2.fma(v, c23);
            c33 = w3.fma(v, c33);
        }
        c00.intoArray(acc, a0);
        c01.intoArray(acc, a0 + l);
        c02.intoArray(acc, a0 + 2 * l);
        c03.intoArray(acc, a0 + 3 * l);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + l);
        c12.intoArray(acc, a1 + 2 * l);
        c13.intoArray(acc, a1 + 3 * l);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + l);
        c22.intoArray(acc, a2 + 2 * l);
        c23.intoArray(acc, a2 + 3 * l);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + l);
        c32.intoArray(acc, a3 + 2 * l);
        c33.intoArray(acc, a3 + 3 * l);
    }

    /** 4 rows x 1 token (a GEMV, or the tokens left over from the 4-token tiles). */
    private static void tile4x1(float[] w, float[] x, int xo, int k, float[] acc, int ao, int rowStride) {
        VectorSpecies<Float> sp = SPECIES;
        int l = sp.length();
        FloatVector c0 = FloatVector.fromArray(sp, acc, ao);
        FloatVector c1 = FloatVector.fromArray(sp, acc, ao + rowStride);
        FloatVector c2 = FloatVector.fromArray(sp, acc, ao + 2 * rowStride);
        FloatVector c3 = FloatVector.fromArray(sp, acc, ao + 3 * rowStride);
        for (int j = 0; j < k; j += l) {
            FloatVector v = FloatVector.fromArray(sp, x, xo + j);
            c0 = FloatVector.fromArray(sp, w, j).fma(v, c0);
            c1 = FloatVector.fromArray(sp, w, W_STRIDE + j).fma(v, c1);
            c2 = FloatVector.fromArray(sp, w, 2 * W_STRIDE + j).fma(v, c2);
            c3 = FloatVector.fromArray(sp, w, 3 * W_STRIDE + j).fma(v, c3);
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + rowStride);
        c2.intoArray(acc, ao + 2 * rowStride);
        c3.intoArray(acc, ao + 3 * rowStride);
    }

    /** 1 row x 4 tokens (rows left over from the 4-row groups). */
    private static void tile1x4(float[] w, int wo, float[] x, int xo, int cols, int k, float[] acc, int ao) {
        VectorSpecies<Float> sp = SPECIES;
        int l = sp.length();
        FloatVector c0 = FloatVector.fromArray(sp, acc, ao);
        FloatVector c1 = FloatVector.fromArray(sp, acc, ao + l);
        FloatVector c2 = FloatVector.fromArray(sp, acc, ao + 2 * l);
        FloatVector c3 = FloatVector.fromArray(sp, acc, ao + 3 * l);
        for (int j = 0; j < k; j += l) {
            FloatVector wv = FloatVector.fromArray(sp, w, wo + j);
            c0 = wv.fma(FloatVector.fromArray(sp, x, xo + j), c0);
            c1 = wv.fma(FloatVector.fromArray(sp, x, xo + cols + j), c1);
            c2 = wv.fma(FloatVector.fromArray(sp, x, xo + 2 * cols + j), c2);
            c3 = wv.fma(FloatVector.fromArray(sp, x, xo + 3 * cols + j), c3);
        }
        c0.intoArray(acc, ao);
        c1.intoArray(acc, ao + l);
        c2.intoArray(acc, ao + 2 * l);
        c3.intoArray(acc, ao + 3 * l);
    }

    /** 1 row x 1 token. */
    private static void tile1x1(float[] w, int wo, float[] x, int xo, int k, float[] acc, int ao) {
        VectorSpecies<Float> sp = SPECIES;
        int l = sp.length();
        FloatVector c = FloatVector.fromArray(sp, acc, ao);
        for (int j = 0; j < k; j += l) {
            c = FloatVector.fromArray(sp, w, wo + j).fma(FloatVector.fromArray(sp, x, xo + j), c);
        }
        c.intoArray(acc, ao);
    }

    /** {@code a[aOff..aOff+n) . b[bOff..bOff+n)} in fp32. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        VectorSpecies<Float> s = SPECIES;
        int width = s.length();
        FloatVector acc0 = FloatVector.zero(s);
        FloatVector acc1 = FloatVector.zero(s);
        FloatVector acc2 = FloatVector.zero(s);
        FloatVector acc3 = FloatVector.zero(s);
        int i = 0;
        for (int bound = n - 4 * width; i <= bound; i += 4 * width) {
            acc0 = FloatVector.fromArray(s, a, aOff + i).fma(FloatVector.fromArray(s, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(s, a, aOff + i + width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + width), acc1);
            acc2 = FloatVector.fromArray(s, a, aOff + i + 2 * width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + 2 * width), acc2);
            acc3 = FloatVector.fromArray(s, a, aOff + i + 3 * width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + 3 * width), acc3);
        }
        for (int bound = n - width; i <= bound; i += width) {
            acc0 = FloatVector.fromArray(s, a, aOff + i).fma(FloatVector.fromArray(s, b, bOff + i), acc0);
        }
        float sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    private static VectorSpecies<Float> pickSpecies() {
        String bits = System.getProperty("mixtral.vector.bits");
        try {
            if (bits == null) {
                VectorSpecies<Float> p = FloatVector.SPECIES_PREFERRED;
                return p.length() >= 4 ? p : null;
            }
            return switch (Integer.parseInt(bits.trim())) {
                case 0 -> null;
                case 128 -> FloatVector.SPECIES_128;
                case 256 -> FloatVector.SPECIES_256;
                case 512 -> FloatVector.SPECIES_512;
                default -> throw new IllegalArgumentException("mixtral.vector.bits = " + bits
                        + ": must be 0, 128, 256 or 512");
            };
        } catch (NoClassDefFoundError e) {
            return null; // jdk.incubator.vector not added to the module graph
        }
    }
}
