package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API matmul against the scalar reference for every weight type, as llama.cpp's test-backend-ops holds a
 * backend to the CPU one: normalised mean squared error {@code sum (a - b)^2 / sum b^2} under a bound per type. Both
 * compute with the same fp32 weights (the decoders are bit-exact) and only sum in another order, so the bounds are
 * tight. Sizes: rows 1, odd and 33 (4-row groups plus leftovers); one block, several blocks (crossing a decoded run)
 * and 4096 columns, plus odd column counts for plain types (scalar tail); 1, 3, 8 and 33 tokens (4-token tiles,
 * leftovers, more than one tile); 1 and 3 threads; with and without a row map.
 */
class VectorMatmulTest {

    private static final GgmlType[] TYPES = {
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

    private static ThreadTeam one;
    private static ThreadTeam three;

    @BeforeAll
    static void start() {
        assertTrue(VectorMatmul.isAvailable(), "the Vector API is expected in tests (surefire adds the module)");
        one = new ThreadTeam(1, "test1");
        three = new ThreadTeam(3, "test3");
    }

    @AfterAll
    static void stop() {
        one.close();
        three.close();
    }

    static Stream<Arguments> typesThreadsAndMaps() {
        List<Arguments> args = new ArrayList<>();
        for (GgmlType t : TYPES) {
            for (int threads : new int[] {1, 3}) {
                for (boolean mapped : new boolean[] {false, true}) {
                    args.add(Arguments.of(t, threads, mapped));
                }
            }
        }
        return args.stream();
    }

    /** nmse bound: F32 as llama.cpp uses for exact ops; the others a little looser, as test-backend-ops does. */
    private static double maxNmse(GgmlType type) {
        return type == GgmlType.F32 ? 1e-10 : 1e-9;
    }

    private static int[] colsFor(GgmlType type) {
        int b = type.blockSize;
        return b == 1 ? new int[] {1, 17, 37, 1100, 4096} : new int[] {b, 5 * b, 4096};
    }

    @ParameterizedTest(name = "{0}, {1} threads, row map {2}")
    @MethodSource("typesThreadsAndMaps")
    void matchesTheScalarReference(GgmlType type, int threads, boolean mapped) {
        ThreadTeam team = threads == 1 ? one : three;
        for (int rows : new int[] {1, 7, 33}) {
            for (int cols : colsFor(type)) {
                WeightMatrix w = matrix(type, rows, cols, mapped);
                for (int tokens : new int[] {1, 2, 3, 4, 8, 33}) {
                    float[] x = RandomWeights.gaussian(tokens * cols, 31L * rows + cols + tokens);
                    float[] expected = new float[tokens * rows];
                    float[] actual = new float[tokens * rows];
                    new ScalarMatmul().apply(w, x, tokens, expected, team);
                    new VectorMatmul().apply(w, x, tokens, actual, team);
                    double nmse = nmse(actual, expected);
                    String what = type + " " + rows + "x" + cols + ", " + tokens + " tokens, " + threads
                            + " threads, row map " + mapped + ": nmse " + nmse;
                    assertTrue(nmse < maxNmse(type), what);
                    // the same matrix copied to the heap (read in place, not copied run by run; F16/BF16 by the
                    // fused kernels up to 8 tokens): the same bits. F32 is not copied.
                    WeightMatrix onHeap = w.onHeap();
                    assertEquals(type != GgmlType.F32, onHeap.isOnHeap(), what);
                    float[] fromHeap = new float[tokens * rows];
                    new VectorMatmul().apply(onHeap, x, tokens, fromHeap, team);
                    assertArrayEquals(actual, fromHeap, "on the heap: " + what);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void aTokensResultIsBitIdenticalWhateverTheBatchAndThreads(GgmlType type) {
        int rows = 33;
        int cols = type.blockSize == 1 ? 1100 : 1280; // two decoded runs; a scalar tail for plain types
        int tokens = 33;
        WeightMatrix w = matrix(type, rows, cols, false);
        float[] x = RandomWeights.gaussian(tokens * cols, 5);
        float[] batched = new float[tokens * rows];
        new VectorMatmul().apply(w, x, tokens, batched, three);
        float[] oneThread = new float[tokens * rows];
        new VectorMatmul().apply(w, x, tokens, oneThread, one);
        assertArrayEquals(batched, oneThread, type + ": 1 thread vs 3");
        // every token alone, and batches of 2 to 5 (the fused 4x2 and 4x4 kernels of quantised types, and the
        // decoded-run path past them with a 4-token tile plus one) must give the same bits
        VectorMatmul mm = new VectorMatmul();
        for (int batch : new int[] {1, 2, 3, 4, 5}) {
            for (int t0 = 0; t0 < tokens; t0 += batch) {
                int n = Math.min(batch, tokens - t0);
                float[] part = new float[n * rows];
                mm.apply(w, Arrays.copyOfRange(x, t0 * cols, (t0 + n) * cols), n, part, three);
                for (int t = 0; t < n; t++) {
                    for (int r = 0; r < rows; r++) {
                        assertEquals(batched[(t0 + t) * rows + r], part[t * rows + r], 0f,
                                type + " token " + (t0 + t) + " row " + r + " in a batch of " + n);
                    }
                }
            }
        }
    }

    @Test
    void aBatchLargerThanATokenBlockMatchesTheSameTokensOneByOne() {
        int tokens = VectorMatmul.TOKEN_BLOCK + 7;
        int rows = 9;
        int cols = 256;
        WeightMatrix w = matrix(GgmlType.Q4_K, rows, cols, true);
        float[] x = RandomWeights.gaussian(tokens * cols, 11);
        float[] batched = new float[tokens * rows];
        new VectorMatmul().apply(w, x, tokens, batched, three);
        for (int t = 0; t < tokens; t++) {
            float[] single = new float[rows];
            new VectorMatmul().apply(w, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, single, one);
            assertArrayEquals(single, Arrays.copyOfRange(batched, t * rows, (t + 1) * rows), "token " + t);
        }
    }

    @Test
    void rowMapPermutesLogicalRows() {
        int rows = 8;
        int cols = 32;
        ByteBuffer data = ByteBuffer.allocate(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                data.putFloat(r);
            }
        }
        data.flip();
        int[] map = {7, 6, 5, 4, 3, 2, 1, 0};
        WeightMatrix w = new WeightMatrix("w", GgmlType.F32, rows, cols, data, map);
        float[] x = new float[cols];
        Arrays.fill(x, 1f);
        float[] out = new float[rows];
        new VectorMatmul().apply(w, x, 1, out, three);
        for (int r = 0; r < rows; r++) {
            assertEquals((float) map[r] * cols, out[r], 0f);
        }
    }

    @Test
    void writesOutputRowsAtTheStrideAndNothingBetween() {
        int rows = 5;
        int cols = 64;
        int stride = 8;
        int tokens = 3;
        WeightMatrix w = matrix(GgmlType.Q8_0, rows, cols, false);
        float[] x = RandomWeights.gaussian(tokens * cols, 3);
        float[] dense = new float[tokens * rows];
        new VectorMatmul().apply(w, x, tokens, dense, three);
        float[] strided = new float[tokens * stride];
        Arrays.fill(strided, Float.NaN);
        new VectorMatmul().apply(w, x, tokens, strided, stride, three);
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
    void rejectsArraysTooShortForTheBatch() {
        WeightMatrix w = matrix(GgmlType.F32, 4, 8, false);
        assertThrows(IndexOutOfBoundsException.class,
                () -> new VectorMatmul().apply(w, new float[15], 2, new float[8], three));
        assertThrows(IndexOutOfBoundsException.class,
                () -> new VectorMatmul().apply(w, new float[16], 2, new float[7], three));
    }

    @Test
    void halvesDecodeExactlyIncludingSubnormalsInfinitiesAndNaN() {
        // every one of the 65536 halves, through the vector decoder, against the scalar Float16
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        float[] got = new float[all.length];
        VectorDecode.f16(all, 0, all.length, got, 0);
        for (int i = 0; i < all.length; i++) {
            float want = org.mixtralspark.engine.tensor.Float16.toFloat(i);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got[i]), "half 0x" + Integer.toHexString(i) + " is a NaN");
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]),
                        "half 0x" + Integer.toHexString(i));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void vectorDecodersAreBitExact(GgmlType type) {
        int cols = 2048;
        WeightMatrix w = matrix(type, 3, cols, true);
        float[] want = new float[cols];
        float[] got = new float[cols];
        VectorDecode.Buffers buffers = new VectorDecode.Buffers(1024, 2);
        for (int r = 0; r < 3; r++) {
            w.dequantizeRow(r, want, 0);
            for (int run = 0; run < 2; run++) {
                if (VectorDecode.isUnpacked(type)) {
                    VectorDecode.unpack(w, MatrixTables.of(w), r, 1024 * run, 1024, buffers, run);
                    VectorDecode.toFloats(buffers, run, 1024, type, got, 1024 * run);
                } else {
                    VectorDecode.plain(w, MatrixTables.of(w), r, 1024 * run, 1024, buffers, got, 1024 * run);
                }
            }
            if (VectorDecode.isPairSplit(type)) {
                float[] natural = want.clone();
                VectorDecode.split(natural, cols, want, 0);
            }
            for (int i = 0; i < cols; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                        type + " row " + r + " value " + i);
            }
        }
    }

    @Test
    void pairSplitHalvesAreExactAndInfinitiesAndNaNsAreFlagged() {
        // every half, 2L at a time, through the pair-split decoder: finite runs exact and unflagged, runs with an
        // infinity or NaN flagged (the caller then decodes them with f16); the flag is per run, so check each run
        int run = 2 * VectorDecode.L;
        short[] halves = new short[run];
        float[] got = new float[run];
        float[] want = new float[run];
        float[] natural = new float[run];
        for (int start = 0; start < 65536; start += run) {
            boolean special = false;
            for (int i = 0; i < run; i++) {
                halves[i] = (short) (start + i);
                natural[i] = org.mixtralspark.engine.tensor.Float16.toFloat(start + i);
                special |= ((start + i) & 0x7C00) == 0x7C00;
            }
            VectorDecode.split(natural, run, want, 0);
            assertEquals(special, VectorDecode.f16Split(halves, run, got, 0), "flag of halves from " + start);
            if (!special) {
                for (int i = 0; i < run; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                            "half at " + i + " of the run from 0x" + Integer.toHexString(start));
                }
            }
        }
    }

    @Test
    void anF16MatrixKnowsWhetherEveryHalfIsFinite() {
        // 3 x 5 halves: 15 of them, so the last is checked outside the 4-halves words
        for (int at = -1; at < 15; at++) {
            for (int special : new int[] {0x7C00, 0xFC00, 0x7E00, 0x7C01}) {
                java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(30).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 15; i++) {
                    // finite halves with every exponent up to 30, both signs
                    data.putShort(2 * i, (short) (i == at ? special : ((i * 0x0800 + i) & 0x7BFF) | (i % 2) << 15));
                }
                WeightMatrix w = new WeightMatrix("halves", GgmlType.F16, 3, 5, data, null);
                assertEquals(at < 0, MatrixTables.of(w).halvesFinite, "special 0x" + Integer.toHexString(special) + " at " + at);
                assertSame(MatrixTables.of(w), MatrixTables.of(w), "made once");
            }
        }
    }

    @Test
    void anF16RowWithInfinitiesAndNaNsDecodesExactly() {
        int cols = 1024;
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(2 * cols).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < cols; i++) {
            int h = switch (i % 97) {
                case 3 -> 0x7C00; // +inf
                case 50 -> 0xFC00; // -inf
                case 71 -> 0x7E01; // NaN with payload
                default -> (i * 40503) & 0xFFFF & ~((((i * 40503) & 0x7C00) == 0x7C00) ? 0x4000 : 0);
            };
            data.putShort(2 * i, (short) h);
        }
        WeightMatrix w = new WeightMatrix("specials", GgmlType.F16, 1, cols, data, null);
        float[] natural = new float[cols];
        w.dequantizeRow(0, natural, 0);
        float[] want = new float[cols];
        VectorDecode.split(natural, cols, want, 0);
        float[] got = new float[cols];
        VectorDecode.plain(w, MatrixTables.of(w), 0, 0, cols, new VectorDecode.Buffers(1024, 1), got, 0);
        for (int i = 0; i < cols; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "value " + i);
        }
    }

    @Test
    void lanesAreSummedByFoldingHalves() {
        for (int n : new int[] {4, 8, 16, 32}) {
            float[] a = RandomWeights.gaussian(n + 3, n);
            float[] copy = a.clone();
            // the generic fold, spelled out
            for (int h = n / 2; h >= 1; h /= 2) {
                for (int j = 0; j < h; j++) {
                    copy[3 + j] += copy[3 + j + h];
                }
            }
            assertEquals(Float.floatToRawIntBits(copy[3]), Float.floatToRawIntBits(VectorMatmul.sumLanes(a, 3, n)),
                    n + " lanes");
        }
    }

    /** A random matrix of the type, with a random row permutation when {@code mapped}. */
    private static WeightMatrix matrix(GgmlType type, int rows, int cols, boolean mapped) {
        long seed = type.ordinal() * 1000003L + rows * 131L + cols;
        ByteBuffer data = RandomWeights.matrix(type, rows, cols, seed, false);
        int[] map = null;
        if (mapped) {
            map = new int[rows];
            for (int i = 0; i < rows; i++) {
                map[i] = i;
            }
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int i = rows - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int tmp = map[i];
                map[i] = map[j];
                map[j] = tmp;
            }
        }
        return new WeightMatrix("w", type, rows, cols, data, map);
    }

    /** llama.cpp test-backend-ops' nmse: sum (a - b)^2 / sum b^2, in double. */
    static double nmse(float[] actual, float[] expected) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            err += d * d;
            ref += (double) expected[i] * expected[i];
        }
        return err / ref;
    }
}
