package org.mixtralspark.engine.tensor;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Hand-built blocks and argument checks; the bit-exact comparison with ggml is {@link DequantizeOracleTest}. */
class DequantizeTest {

    @Test
    void q8_0BlockIsScaleTimesInt8() {
        ByteBuffer b = le(3 + 34); // 3 bytes of offset before the block
        b.putShort(3, Float16.fromFloat(0.5f));
        for (int j = 0; j < 32; j++) {
            b.put(3 + 2 + j, (byte) (j - 16));
        }
        float[] out = new float[40];
        Dequantize.row(GgmlType.Q8_0, b, 3, out, 4, 32);
        for (int j = 0; j < 32; j++) {
            assertEquals((j - 16) * 0.5f, out[4 + j]);
        }
        assertEquals(0f, out[3]);
        assertEquals(0f, out[36]);
    }

    @Test
    void q4_0BlockPutsLowNibblesFirst() {
        ByteBuffer b = le(18);
        b.putShort(0, Float16.fromFloat(2f));
        for (int j = 0; j < 16; j++) {
            b.put(2 + j, (byte) (j | ((15 - j) << 4)));
        }
        float[] out = new float[32];
        Dequantize.row(GgmlType.Q4_0, b, 0, out, 0, 32);
        for (int j = 0; j < 16; j++) {
            assertEquals((j - 8) * 2f, out[j]);
            assertEquals((15 - j - 8) * 2f, out[16 + j]);
        }
    }

    @Test
    void plainTypes() {
        ByteBuffer b = le(12);
        b.putFloat(0, 1.5f).putShort(4, Float16.fromFloat(-3f)).putShort(6, (short) 0x4040).putFloat(8, 7f);
        float[] out = new float[1];
        Dequantize.row(GgmlType.F32, b, 8, out, 0, 1);
        assertArrayEquals(new float[]{7f}, out);
        Dequantize.row(GgmlType.F16, b, 4, out, 0, 1);
        assertArrayEquals(new float[]{-3f}, out);
        Dequantize.row(GgmlType.BF16, b, 6, out, 0, 1);
        assertArrayEquals(new float[]{3f}, out);
    }

    @Test
    void rejectsBadArguments() {
        float[] out = new float[256];
        assertThrows(IllegalArgumentException.class,
                () -> Dequantize.row(GgmlType.Q8_0, ByteBuffer.allocate(34), 0, out, 0, 32)); // big-endian
        assertThrows(IllegalArgumentException.class, () -> Dequantize.row(GgmlType.Q8_0, le(34), 0, out, 0, 31));
        assertThrows(IndexOutOfBoundsException.class, () -> Dequantize.row(GgmlType.Q8_0, le(34), 1, out, 0, 32));
        assertThrows(IndexOutOfBoundsException.class, () -> Dequantize.row(GgmlType.Q8_0, le(34), 0, out, 240, 32));
        assertThrows(IndexOutOfBoundsException.class, () -> Dequantize.row(GgmlType.Q6_K, le(209), 0, out, 0, 256));
        assertThrows(IllegalArgumentException.class, () -> Dequantize.row(GgmlType.Q4_1, le(20), 0, out, 0, 32));
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
