package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native kernels ({@link NativeMatmul}, the {@code fast} math) against the scalar reference, as llama.cpp's
 * test-backend-ops holds a backend's quantised matrix product to the CPU's: nmse {@code sum (a - b)^2 / sum b^2}
 * under a bound per type. Unlike {@link VectorMatmulTest}, the two do not compute the same thing: the reference
 * multiplies fp32 activations, the kernels int8 ones (per 32 values, d = amax / 127), so the bound is the
 * quantisation's error, not a summation order's. Every variant this CPU runs is tested (avx512vnni and avx2 on
 * AVX-512 machines). Skipped, with the loader's reason, where the library is not loaded.
 */
class NativeMatmulTest {

    private static final GgmlType[] TYPES = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
            GgmlType.F32, GgmlType.F16, GgmlType.BF16};
    private static final int[] TOKENS = {1, 3, 7, 16, 33};

    private static ThreadTeam one;
    private static ThreadTeam two;
    /** The largest nmse seen per type and variant, printed at the end (the figures behind the bounds). */
    private static final Map<String, Double> WORST = new TreeMap<>();

    @BeforeAll
    static void start() {
        one = new ThreadTeam(1, "native1");
        two = new ThreadTeam(2, "native2");
    }

    @AfterAll
    static void stop() {
        one.close();
        two.close();
        WORST.forEach((k, v) -> System.out.printf("NativeMatmulTest worst nmse %s: %.3e%n", k, v));
    }

    private static void assumeLoaded() {
        assumeTrue(NativeKernels.isAvailable(), () -> "native kernels not loaded: " + NativeKernels.reasonUnavailable());
    }

    static Stream<Arguments> typesAndVariants() {
        List<Arguments> args = new ArrayList<>();
        for (GgmlType t : TYPES) {
            for (NativeKernels.Variant v : NativeKernels.Variant.values()) {
                args.add(Arguments.of(t, v));
            }
        }
        return args.stream();
    }

    static Stream<Arguments> variants() {
        return Arrays.stream(NativeKernels.Variant.values()).map(Arguments::of);
    }

    private static NativeMatmul matmul(NativeKernels.Variant v) {
        assumeLoaded();
        assumeTrue(NativeKernels.supportedVariants().contains(v), () -> "this CPU does not run " + v);
        return new NativeMatmul(new VectorMatmul(), v);
    }

    /**
     * nmse bound per type, against fp32 activations. Measured (both variants give the same figures), worst over the
     * grid / at 33 x 4096: Q8_0 4.6e-5 / 2.9e-5, Q4_0 3.8e-5 / 3.1e-5, Q4_K 5.5e-5 / 2.8e-5, Q5_K 4.2e-5 / 2.7e-5,
     * Q6_K 3.8e-5 / 3.0e-5: the activations' int8 rounding, (amax / 127)^2 / 12 per value with amax about 2.1
     * standard deviations for 32 gaussians, 2.3e-5, whatever the weights. Bound 2e-4: 3.6 times the worst, and under
     * the 5e-4 llama.cpp's test-backend-ops allows such products.
     *
     * <p>Float weights: F32 and F16 take fp32 activations, so only the order of the sums differs from the reference
     * (measured: under 1e-11); BF16 too, except on avx512bf16, whose bf16 activations (round to nearest even, 8
     * significant bits) give about (2^-9)^2 / 3 = 1.3e-6 per value (measured: worst 3.2e-6, 2.9e-6 at 33 x 4096);
     * bound 1e-5.
     */
    private static double maxNmse(GgmlType type, NativeKernels.Variant variant) {
        if (!NativeKernels.floatActivations(type)) {
            return 2e-4;
        }
        return type == GgmlType.BF16 && variant == NativeKernels.Variant.AVX512BF16 ? 1e-5 : 1e-10;
    }

    private static int[] colsFor(GgmlType type) {
        // one block (or 32 floats); a partial 256-column chunk only (7 blocks); a chunk and one block; 4096; 14336
        return type.blockSize == 32 || NativeKernels.floatActivations(type) ? new int[] {32, 224, 288, 4096, 14336}
                : new int[] {256, 768, 4096, 14336};
    }

    /**
     * The nmse of every shape, pooled over its token counts (a shape of 1 row has 60 outputs then): the nmse of one
     * output alone is its squared relative error, which is unbounded when the true product happens to be near zero.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("typesAndVariants")
    void matchesTheScalarReference(GgmlType type, NativeKernels.Variant variant) {
        NativeMatmul mm = matmul(variant);
        for (int rows : new int[] {1, 7, 33}) {
            for (int cols : colsFor(type)) {
                WeightMatrix direct = matrix(type, rows, cols, true);
                WeightMatrix heap = type == GgmlType.F32 ? matrix(type, rows, cols, false) : direct.onHeap();
                assertTrue(type == GgmlType.F32 || heap.isOnHeap());
                double err = 0;
                double ref = 0;
                for (int tokens : TOKENS) {
                    if ((long) rows * cols * tokens > 8_000_000 && tokens > 7) {
                        continue; // the scalar reference is slow: the largest shapes with up to 7 tokens
                    }
                    float[] x = RandomWeights.gaussian(tokens * cols, 31L * rows + cols + tokens);
                    float[] expected = new float[tokens * rows];
                    new ScalarMatmul().apply(direct, x, tokens, expected, one);
                    float[] actual = new float[tokens * rows];
                    mm.apply(direct, x, tokens, actual, two);
                    for (int i = 0; i < expected.length; i++) {
                        double d = (double) actual[i] - expected[i];
                        err += d * d;
                        ref += (double) expected[i] * expected[i];
                    }
                    float[] fromHeap = new float[tokens * rows];
                    mm.apply(heap, x, tokens, fromHeap, two);
                    assertArrayEquals(actual, fromHeap, "weights on the heap: " + type + " " + variant + " " + rows
                            + "x" + cols + ", " + tokens + " tokens");
                }
                double nmse = err / ref;
                WORST.merge(type + " " + variant, nmse, Math::max);
                if (rows == 33 && cols == 4096) {
                    WORST.put(type + " " + variant + " at 33x4096", nmse);
                }
                assertTrue(nmse < maxNmse(type, variant), type + " " + variant + " " + rows + "x" + cols + ": nmse " + nmse);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("typesAndVariants")
    void aTokensResultIsBitIdenticalWhateverTheBatchAndThreads(GgmlType type, NativeKernels.Variant variant) {
        NativeMatmul mm = matmul(variant);
        int rows = 37; // 9 groups of 4 rows and one left over
        // Q8_0/Q4_0 and the float types: 5 chunks and a partial one (41 blocks of 32)
        int cols = type.blockSize == 32 || NativeKernels.floatActivations(type) ? 1312 : 1280;
        int tokens = 70; // past one block of 64 tokens
        WeightMatrix w = matrix(type, rows, cols, true);
        float[] x = RandomWeights.gaussian(tokens * cols, 5);
        float[] batched = new float[tokens * rows];
        mm.apply(w, x, tokens, batched, two);
        float[] oneThread = new float[tokens * rows];
        mm.apply(w, x, tokens, oneThread, one);
        assertArrayEquals(batched, oneThread, type + ": 1 thread vs 2");
        for (int batch : new int[] {1, 2, 3, 4, 5, 7, 16}) {
            for (int t0 = 0; t0 < tokens; t0 += batch) {
                int n = Math.min(batch, tokens - t0);
                float[] part = new float[n * rows];
                mm.apply(w, Arrays.copyOfRange(x, t0 * cols, (t0 + n) * cols), n, part, batch % 2 == 0 ? one : two);
                for (int t = 0; t < n; t++) {
                    for (int r = 0; r < rows; r++) {
                        assertEquals(batched[(t0 + t) * rows + r], part[t * rows + r], 0f,
                                type + " token " + (t0 + t) + " row " + r + " in a batch of " + n);
                    }
                }
            }
        }
        // the same rows split another way: every row range a multiple of 4 rows from 0, down to one group
        float[] x1 = Arrays.copyOf(x, cols);
        float[] whole = new float[rows];
        mm.apply(w, x1, 1, whole, one);
        assertArrayEquals(Arrays.copyOf(batched, rows), whole, "token 0 alone, 1 thread");
    }

    /**
     * The variants run the same integer products (vpdpbusd, or vpmaddubsw + vpmaddwd: no saturation at these ranges)
     * and the same fp32 operations in the same order, so they agree bit for bit, except: AVX2's Q8_0 multiplies |w| by
     * sign(x, w) where AVX-512 takes w + 128 and an offset term, so it rounds differently; and avx512bf16's BF16 takes
     * bf16 activations.
     */
    @Test
    void theVariantsAgreeBitForBitExceptAvx2Q8_0AndBf16OnAvx512bf16() {
        assumeLoaded();
        List<NativeKernels.Variant> variants = NativeKernels.supportedVariants();
        assumeTrue(variants.size() >= 2, "one variant only on this CPU");
        NativeKernels.Variant base = variants.get(variants.size() - 1);
        for (NativeKernels.Variant v : variants.subList(0, variants.size() - 1)) {
            NativeMatmul a = new NativeMatmul(new VectorMatmul(), v);
            NativeMatmul b = new NativeMatmul(new VectorMatmul(), base);
            for (GgmlType type : TYPES) {
                int cols = 2048;
                WeightMatrix w = matrix(type, 9, cols, true);
                float[] x = RandomWeights.gaussian(5 * cols, 17);
                float[] ya = new float[5 * 9];
                float[] yb = new float[5 * 9];
                a.apply(w, x, 5, ya, two);
                b.apply(w, x, 5, yb, two);
                String what = type + ": " + v + " vs " + base;
                if (type == GgmlType.Q8_0 && base == NativeKernels.Variant.AVX2) {
                    assertTrue(VectorMatmulTest.nmse(ya, yb) < 1e-12, what);
                } else if (type == GgmlType.BF16 && v == NativeKernels.Variant.AVX512BF16) {
                    double nmse = VectorMatmulTest.nmse(ya, yb);
                    assertTrue(nmse > 0 && nmse < 1e-5, what + ": nmse " + nmse);
                } else {
                    assertArrayEquals(ya, yb, what);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void theQuantiserIsLlamaCppsQuantizeRowQ8_0WithAnFp32Scale(NativeKernels.Variant variant) {
        matmul(variant);
        int cols = 32 * 40;
        int tokens = 3;
        float[] x = RandomWeights.gaussian(tokens * cols, 99);
        SplittableRandom rnd = new SplittableRandom(7);
        // block 0: zeros; block 1: one nonzero; block 2: ties (x * id exactly k + 1/2); block 3: tiny values;
        // block 4: huge values; block 5: -amax present; blocks 6-7: integers; block 8: negative zeros
        Arrays.fill(x, 0, 32, 0f);
        Arrays.fill(x, 32, 64, 0f);
        x[40] = -3.25f;
        for (int j = 0; j < 32; j++) {
            x[64 + j] = j == 0 ? 127f : (rnd.nextInt(254) - 127) + 0.5f; // amax 127 -> d = 1, id = 1: exact ties
            x[96 + j] = (float) rnd.nextGaussian() * 1e-30f;
            x[128 + j] = (float) rnd.nextGaussian() * 1e30f;
            x[192 + j] = rnd.nextInt(255) - 127;
            x[224 + j] = rnd.nextInt(9) - 4;
            x[256 + j] = -0.0f;
        }
        x[160] = -100f;
        for (int j = 1; j < 32; j++) {
            x[160 + j] = (float) rnd.nextDouble(-100, 100);
        }
        ByteBuffer act = NativeKernels.allocateActivations(NativeKernels.activationBytes(tokens, cols));
        NativeKernels.quantize(variant, x, tokens, cols, act);
        int nb = cols / 32;
        int dAt = align64(tokens * cols);
        int bxAt = dAt + align64(tokens * nb * 4);
        for (int blk = 0; blk < tokens * nb; blk++) {
            // quantize_row_q8_0_ref, with d kept as the float it computes (ggml stores it as a half)
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                float v = Math.abs(x[32 * blk + j]);
                amax = amax > v ? amax : v;
            }
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            int[] sums = new int[2];
            for (int j = 0; j < 32; j++) {
                int q = roundf(x[32 * blk + j] * id);
                sums[j / 16] += q;
                assertEquals(q, act.get(32 * blk + j), "block " + blk + " value " + j + " = " + x[32 * blk + j]);
            }
            assertEquals(Float.floatToRawIntBits(d), Float.floatToRawIntBits(act.getFloat(dAt + 4 * blk)),
                    "d of block " + blk);
            for (int h = 0; h < 2; h++) {
                assertEquals(Float.floatToRawIntBits(d * (float) sums[h]),
                        Float.floatToRawIntBits(act.getFloat(bxAt + 4 * (2 * blk + h))), "bx of block " + blk);
            }
        }
    }

    /** C's roundf: halves away from zero. */
    private static int roundf(float f) {
        return (int) Math.copySign(Math.floor(Math.abs((double) f) + 0.5), f);
    }

    private static int align64(int n) {
        return (n + 63) & ~63;
    }

    @Test
    void writesOutputRowsAtTheStrideAndNothingBetween() {
        NativeMatmul mm = matmul(NativeKernels.variant());
        int rows = 5;
        int cols = 256;
        int stride = 8;
        int tokens = 6;
        WeightMatrix w = matrix(GgmlType.Q4_K, rows, cols, true);
        float[] x = RandomWeights.gaussian(tokens * cols, 3);
        float[] dense = new float[tokens * rows];
        mm.apply(w, x, tokens, dense, two);
        float[] strided = new float[tokens * stride];
        Arrays.fill(strided, Float.NaN);
        mm.apply(w, x, tokens, strided, stride, two);
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < stride; r++) {
                if (r < rows) {
                    assertEquals(dense[t * rows + r], strided[t * stride + r], 0f);
                } else {
                    assertTrue(Float.isNaN(strided[t * stride + r]), "untouched");
                }
            }
        }
    }

    @Test
    void whatTheKernelsDoNotTakeGoesToTheFallbackUnchanged() {
        NativeMatmul mm = matmul(NativeKernels.variant());
        int rows = 9;
        // F16 rows of 40 values (not a multiple of 32), and Q4_K rows under a row map: VectorMatmul's bits
        WeightMatrix f16 = new WeightMatrix("f16", GgmlType.F16, rows, 40,
                RandomWeights.matrix(GgmlType.F16, rows, 40, 1, true), null);
        int[] map = {8, 7, 6, 5, 4, 3, 2, 1, 0};
        WeightMatrix mapped = new WeightMatrix("mapped", GgmlType.Q4_K, rows, 512,
                RandomWeights.matrix(GgmlType.Q4_K, rows, 512, 2, true), map);
        for (WeightMatrix w : new WeightMatrix[] {f16, mapped}) {
            assertFalse(NativeMatmul.handles(w), w.name());
            float[] x = RandomWeights.gaussian(3 * w.cols(), 8);
            float[] want = new float[3 * rows];
            new VectorMatmul().apply(w, x, 3, want, two);
            float[] got = new float[3 * rows];
            mm.apply(w, x, 3, got, two);
            assertArrayEquals(want, got, w.name());
        }
    }

    @Test
    void hostileShapesAreRejectedBeforeTheNativeCall() {
        NativeMatmul mm = matmul(NativeKernels.variant());
        NativeKernels.Variant v = mm.variant();
        int rows = 4;
        int cols = 256;
        WeightMatrix w = matrix(GgmlType.Q4_K, rows, cols, true);
        // out too short, x too short
        assertThrows(IllegalArgumentException.class, () -> mm.apply(w, new float[2 * cols], 2, new float[7], two));
        assertThrows(IllegalArgumentException.class, () -> mm.apply(w, new float[2 * cols - 1], 2, new float[8], two));
        assertThrows(IllegalArgumentException.class, () -> mm.apply(w, new float[cols], 1, new float[8], 3, two));
        ByteBuffer act = NativeKernels.allocateActivations(NativeKernels.activationBytes(2, cols));
        NativeKernels.quantize(v, new float[2 * cols], 2, cols, act);
        ByteBuffer data = w.data();
        long rb = w.rowBytes();
        float[] out = new float[2 * rows];
        // cols not a block multiple (and the row bytes to go with them)
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 0,
                GgmlType.Q4_K.bytesFor(512), rows, 288, 0, rows, act, 2, out, rows));
        // row bytes that do not match the columns
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 0,
                rb + 1, rows, cols, 0, rows, act, 2, out, rows));
        // a buffer shorter than rows * rowBytes, directly and through an offset
        ByteBuffer shortBuffer = ByteBuffer.allocateDirect((int) (rows * rb - 1));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, shortBuffer, 0,
                rb, rows, cols, 0, rows, act, 2, out, rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 1,
                rb, rows, cols, 0, rows, act, 2, out, rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, -1,
                rb, rows, cols, 0, rows, act, 2, out, rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K,
                new byte[(int) (rows * rb) - 1], 0, rb, rows, cols, 0, rows, act, 2, out, rows));
        // rows outside the matrix, a stride under the row count, an activation buffer too small, an F16 matrix
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 0,
                rb, rows, cols, 0, rows + 1, act, 2, out, rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 0,
                rb, rows, cols, 0, rows, act, 2, out, rows - 1));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K, data, 0,
                rb, rows, cols, 0, rows, act, 3, new float[3 * rows], rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.F16, data, 0,
                rb, rows, cols, 0, rows, act, 2, out, rows));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiply(v, GgmlType.Q4_K,
                ByteBuffer.allocate((int) (rows * rb)), 0, rb, rows, cols, 0, rows, act, 2, out, rows));
        // the quantiser: cols not a multiple of 32, x too short, a heap buffer
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(v, new float[48], 1, 48, act));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(v, new float[cols], 2, cols, act));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(v, new float[cols], 1, cols,
                ByteBuffer.allocate(1 << 12)));
    }

    @Test
    void theLibraryRefusesWhatJavaWouldHaveRejected() {
        // the raw entry points, past the Java checks: error codes, never a read or write out of bounds
        NativeMatmul mm = matmul(NativeKernels.variant());
        int v = mm.variant().id;
        int rows = 4;
        int cols = 256;
        WeightMatrix w = matrix(GgmlType.Q6_K, rows, cols, true);
        long rb = w.rowBytes();
        ByteBuffer act = NativeKernels.allocateActivations(NativeKernels.activationBytes(1, cols));
        float[] out = new float[rows];
        int q6 = GgmlType.Q6_K.id;
        assertEquals(0, NativeKernels.multiplyDirect0(v, q6, w.data(), 0, rb, rows, cols, 0, rows, act, 1, out, rows));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, q6, w.data(), 1, rb, rows, cols, 0, rows, act, 1, out, rows));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, q6, w.data(), 0, rb, rows + 1, cols, 0, rows + 1, act, 1,
                new float[rows + 1], rows + 1));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, q6, w.data(), 0, rb, rows, cols, 0, rows, act, 2, out, rows));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, q6, w.data(), 0, rb, rows, cols, 0, rows, act, 1,
                new float[rows - 1], rows));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, GgmlType.Q4_1.id, w.data(), 0, rb, rows, cols, 0, rows, act,
                1, out, rows));
        assertEquals(-1, NativeKernels.multiplyDirect0(v, q6, w.data(), Long.MAX_VALUE - 4, rb, rows, cols, 0, rows,
                act, 1, out, rows));
        assertEquals(-2, NativeKernels.multiplyDirect0(v, q6, ByteBuffer.allocate(1000), 0, rb, rows, cols, 0, rows,
                act, 1, out, rows));
        assertEquals(-1, NativeKernels.multiplyHeap0(v, q6, new byte[(int) (rows * rb) - 1], 0, rb, rows, cols, 0,
                rows, act, 1, out, rows));
        assertEquals(-1, NativeKernels.quantize0(v, new float[cols - 1], 1, cols, act));
        // float activations: a quantised type, x too short, a buffer too small for fp32 rows
        assertEquals(-1, NativeKernels.floats0(v, GgmlType.Q4_K.id, new float[cols], 1, cols, act));
        assertEquals(-1, NativeKernels.floats0(v, GgmlType.F16.id, new float[cols - 1], 1, cols, act));
        ByteBuffer small = NativeKernels.allocateActivations(NativeKernels.activationBytes(2, cols));
        assertTrue(small.capacity() < NativeKernels.activationBytes(GgmlType.F32, 2, cols));
        assertEquals(-1, NativeKernels.floats0(v, GgmlType.F32.id, new float[2 * cols], 2, cols, small));
        assertEquals(-4, NativeKernels.quantize0(7, new float[cols], 1, cols, act));
    }

    private static WeightMatrix matrix(GgmlType type, int rows, int cols, boolean direct) {
        long seed = type.ordinal() * 1000003L + rows * 131L + cols;
        return new WeightMatrix("w", type, rows, cols, RandomWeights.matrix(type, rows, cols, seed, direct), null);
    }

}
