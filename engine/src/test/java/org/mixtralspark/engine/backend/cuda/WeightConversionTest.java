package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.Quantize;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Weights reach the device as the CPU decodes them, rounded once to bf16 (or kept in fp32), with the loader's row
 * permutation applied; a BF16 checkpoint arrives bit for bit.
 */
class WeightConversionTest {

    private static WeightMatrix matrix(GgmlType type, int rows, int cols, int[] rowMap, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.7);
        }
        ByteBuffer b = ByteBuffer.allocate((int) (rows * type.bytesFor(cols))).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float x = v[r * cols + c];
                switch (type) {
                    case F32 -> b.putFloat(x);
                    case F16 -> b.putShort(Float16.fromFloat(x));
                    case BF16 -> b.putShort(BFloat16.fromFloat(x));
                    default -> { }
                }
            }
            if (type == GgmlType.Q8_0) {
                Quantize.rowQ8_0(v, r * cols, cols, b, (int) (r * type.bytesFor(cols)));
            }
        }
        b.rewind();
        return new WeightMatrix("w", type, rows, cols, b, rowMap);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0"})
    void rowsAreTheCpusDecodedValuesRoundedOnce(GgmlType type) {
        int rows = 6;
        int cols = 64;
        int[] rowMap = {0, 2, 4, 1, 3, 5}; // a RoPE-style permutation: logical row r is stored row rowMap[r]
        WeightMatrix m = matrix(type, rows, cols, rowMap, 11);
        float[] scratch = new float[cols];
        for (Precision p : Precision.values()) {
            ByteBuffer out = ByteBuffer.allocate(rows * cols * p.bytes).order(ByteOrder.LITTLE_ENDIAN);
            WeightConversion.rows(m, 1, rows - 1, p, out, scratch);
            assertEquals((rows - 1) * cols * p.bytes, out.position(), "bytes written");
            out.flip();
            float[] expected = new float[cols];
            for (int r = 1; r < rows; r++) {
                m.dequantizeRow(r, expected, 0);
                for (int c = 0; c < cols; c++) {
                    if (p == Precision.BF16) {
                        assertEquals(BFloat16.fromFloat(expected[c]), out.getShort(), type + " row " + r + " col " + c);
                    } else {
                        assertEquals(Float.floatToIntBits(expected[c]), Float.floatToIntBits(out.getFloat()));
                    }
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void bf16WeightsArriveBitForBit() {
        SplittableRandom rnd = new SplittableRandom(5);
        ByteBuffer stored = ByteBuffer.allocate(3 * 32 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3 * 32; i++) {
            stored.putShort((short) (rnd.nextInt(0x7F80) | (rnd.nextBoolean() ? 0x8000 : 0))); // finite bf16
        }
        stored.rewind();
        WeightMatrix m = new WeightMatrix("w", GgmlType.BF16, 3, 32, stored.duplicate(), null);
        ByteBuffer out = ByteBuffer.allocate(3 * 32 * 2).order(ByteOrder.LITTLE_ENDIAN);
        WeightConversion.rows(m, 0, 3, Precision.BF16, out, new float[32]);
        assertEquals(stored.rewind(), out.flip());
    }
}
