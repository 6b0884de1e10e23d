package org.mixtralspark.engine.kernels.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.io.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Vector API matmul against the scalar reference, over sizes 1, odd, vector width -1/+1 and large. */
class VectorMatmulTest {

    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "test");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "3,7,1", "5,15,3", "8,16,2", "9,17,5", "33,63,4", "64,65,1", "17,1000,7", "128,4096,3"})
    void f32MatchesScalarWithinRoundingOfTheSumOrder(int rows, int cols, int tokens) {
        assertTrue(VectorMatmul.isAvailable(), "the Vector API is expected in tests (surefire adds the module)");
        SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
        ByteBuffer data = ByteBuffer.allocate(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * cols; i++) {
            data.putFloat((float) rnd.nextGaussian());
        }
        data.flip();
        WeightMatrix w = new WeightMatrix("w", GgmlType.F32, rows, cols, data, null);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] expected = new float[tokens * rows];
        float[] actual = new float[tokens * rows];
        new ScalarMatmul().apply(w, x, tokens, expected, team);
        new VectorMatmul().apply(w, x, tokens, actual, team);
        for (int i = 0; i < expected.length; i++) {
            // both sum cols products of N(0,1) values in fp32; only the order differs
            assertEquals(expected[i], actual[i], 1e-5 * cols + 1e-6, "element " + i);
        }
    }

    @ParameterizedTest
    @CsvSource({"1", "2", "5"})
    void aTokensResultDoesNotDependOnTheBatch(int tokens) {
        int rows = 40;
        int cols = 96;
        SplittableRandom rnd = new SplittableRandom(7);
        ByteBuffer data = ByteBuffer.allocate(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * cols; i++) {
            data.putFloat((float) rnd.nextGaussian());
        }
        data.flip();
        WeightMatrix w = new WeightMatrix("w", GgmlType.F32, rows, cols, data, null);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] batched = new float[tokens * rows];
        new VectorMatmul().apply(w, x, tokens, batched, team);
        for (int t = 0; t < tokens; t++) {
            float[] one = new float[rows];
            float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            new VectorMatmul().apply(w, xt, 1, one, team);
            for (int r = 0; r < rows; r++) {
                assertEquals(one[r], batched[t * rows + r], 0.0f, "token " + t + " row " + r + " must be bit-identical");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"8,32"})
    void rowMapPermutesLogicalRows(int rows, int cols) {
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
        java.util.Arrays.fill(x, 1f);
        float[] out = new float[rows];
        new VectorMatmul().apply(w, x, 1, out, team);
        for (int r = 0; r < rows; r++) {
            assertEquals((float) map[r] * cols, out[r], 0f);
        }
    }
}
