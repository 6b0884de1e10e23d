package org.mixtralspark.engine.tensor;

import org.mixtralspark.engine.tensor.Float16;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Scalar reference quantisation, as ggml's {@code quantize_row_*_ref} (ggml-quants.c) computes it. */
public final class Quantize {

    private Quantize() {
    }

    /**
     * ggml's {@code quantize_row_q8_0_ref}: per block of 32 values, {@code d = amax / 127} stored as a half, and each
     * value {@code roundf(x / d)} (computed as {@code x * (1/d)}, rounded half away from zero) as an int8. The
     * 1/d uses the float d, not the half stored, exactly as ggml does; a block of zeros gets d = 0 and zeros.
     *
     * @param x      source values, {@code count} of them from {@code xOffset}; finite
     * @param count  a multiple of 32
     * @param out    little-endian destination; {@code count / 32 * 34} bytes are written from {@code outOffset}
     */
    public static void rowQ8_0(float[] x, int xOffset, int count, ByteBuffer out, int outOffset) {
        if (count % 32 != 0) {
            throw new IllegalArgumentException("Q8_0 quantises whole blocks of 32 values, asked for " + count);
        }
        if (out.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("ggml data is little-endian; the buffer is " + out.order());
        }
        for (int b = 0; b < count / 32; b++) {
            int src = xOffset + 32 * b;
            int dst = outOffset + 34 * b;
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                float v = Math.abs(x[src + j]);
                amax = amax > v ? amax : v; // ggml's MAX(a, b) macro, operand order kept
            }
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            out.putShort(dst, Float16.fromFloat(d));
            for (int j = 0; j < 32; j++) {
                float x0 = x[src + j] * id;
                out.put(dst + 2 + j, (byte) roundf(x0));
            }
        }
    }

    /** C's roundf: nearest integer, halves away from zero (Java's Math.round rounds halves up). Exact in double. */
    static int roundf(float f) {
        return (int) Math.copySign(Math.floor(Math.abs((double) f) + 0.5), f);
    }
}
