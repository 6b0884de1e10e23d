package org.mixtralspark.engine.tensor;

import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Scalar reference dequantisation: the values ggml's {@code dequantize_row_*} (ggml-quants.c) and its F16/BF16
 * {@code to_float} give, bit for bit. Every float operation is done in the order ggml's C does it, one rounding per
 * operation and no fused multiply-add, which is also what gguf-py's numpy dequantisers compute; the oracle's
 * per-tensor sha256 checks that. Fast kernels are tested against this class.
 *
 * <p>Block layouts (ggml-common.h), all little-endian, {@code half} = IEEE binary16:
 * <pre>
 * Q8_0  32 values  34 B: half d; int8 qs[32]
 * Q4_0  32 values  18 B: half d; uint8 qs[16]                       (low nibbles: values 0-15, high: 16-31)
 * Q4_K 256 values 144 B: half d; half dmin; uint8 scales[12]; uint8 qs[128]
 * Q5_K 256 values 176 B: half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]
 * Q6_K 256 values 210 B: uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d
 * </pre>
 */
public final class Dequantize {

    private Dequantize() {
    }

    /**
     * Decodes {@code count} consecutive values stored from {@code byteOffset} of {@code data} (an absolute index: the
     * buffer's position is ignored) into {@code out[outOffset ..]}.
     *
     * @param type       F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K
     * @param data       little-endian bytes, e.g. a {@link org.mixtralspark.engine.io.TensorSource#bytes} view
     * @param byteOffset where the first block starts (a multiple of {@code type.typeSize} from the tensor's start)
     * @param count      values to decode; a multiple of {@code type.blockSize}
     * @throws IllegalArgumentException      for another type, a partial block, or a big-endian buffer
     * @throws IndexOutOfBoundsException     when the bytes or the output range are out of bounds
     */
    public static void row(GgmlType type, ByteBuffer data, long byteOffset, float[] out, int outOffset, int count) {
        if (data.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("ggml data is little-endian; the buffer is " + data.order());
        }
        if (count < 0 || count % type.blockSize != 0) {
            throw new IllegalArgumentException(type + " decodes whole blocks of " + type.blockSize + " values, asked for " + count);
        }
        long bytes = type.bytesFor(count);
        if (byteOffset < 0 || byteOffset > data.limit() - bytes) {
            throw new IndexOutOfBoundsException("bytes [" + byteOffset + ", +" + bytes + ") outside a buffer of " + data.limit());
        }
        if (outOffset < 0 || outOffset > out.length - count) {
            throw new IndexOutOfBoundsException("output [" + outOffset + ", +" + count + ") outside an array of " + out.length);
        }
        int p = (int) byteOffset;
        int blocks = count / type.blockSize;
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    out[outOffset + i] = data.getFloat(p + 4 * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[outOffset + i] = Float16.toFloat(data.getShort(p + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[outOffset + i] = BFloat16.toFloat(data.getShort(p + 2 * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < blocks; b++) {
                    q8_0(data, p + b * type.typeSize, out, outOffset + b * 32);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < blocks; b++) {
                    q4_0(data, p + b * type.typeSize, out, outOffset + b * 32);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < blocks; b++) {
                    q4_K(data, p + b * type.typeSize, out, outOffset + b * 256);
                }
            }
            case Q5_K -> {
                for (int b = 0; b < blocks; b++) {
                    q5_K(data, p + b * type.typeSize, out, outOffset + b * 256);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < blocks; b++) {
                    q6_K(data, p + b * type.typeSize, out, outOffset + b * 256);
                }
            }
            default -> throw new IllegalArgumentException("no dequantisation for " + type
                    + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        }
    }

    /** dequantize_row_q8_0: y[j] = qs[j] * d. */
    private static void q8_0(ByteBuffer x, int block, float[] y, int o) {
        float d = Float16.toFloat(x.getShort(block));
        for (int j = 0; j < 32; j++) {
            y[o + j] = x.get(block + 2 + j) * d;
        }
    }

    /** dequantize_row_q4_0: y[j] = ((qs[j] &amp; 0xF) - 8) * d, y[j + 16] = ((qs[j] &gt;&gt; 4) - 8) * d. */
    private static void q4_0(ByteBuffer x, int block, float[] y, int o) {
        float d = Float16.toFloat(x.getShort(block));
        for (int j = 0; j < 16; j++) {
            int q = x.get(block + 2 + j) & 0xFF;
            y[o + j] = ((q & 0x0F) - 8) * d;
            y[o + j + 16] = ((q >>> 4) - 8) * d;
        }
    }

    /**
     * get_scale_min_k4: the 6-bit scale (j) and min (j + 8 in the result's high half) of sub-block j of a K-quant
     * super-block, packed in 12 bytes: sub-blocks 0-3 in the low 6 bits of bytes 0-7, sub-blocks 4-7 in the nibbles
     * of bytes 8-11 plus the top 2 bits of bytes 0-7.
     *
     * @return scale | (min &lt;&lt; 8)
     */
    private static int scaleMinK4(ByteBuffer x, int scales, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = x.get(scales + j) & 63;
            m = x.get(scales + j + 4) & 63;
        } else {
            int hi = x.get(scales + j + 4) & 0xFF;
            sc = (hi & 0xF) | (((x.get(scales + j - 4) & 0xFF) >>> 6) << 4);
            m = (hi >>> 4) | (((x.get(scales + j) & 0xFF) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    /** dequantize_row_q4_K: per 64 values, two sub-blocks y = d*sc * q - dmin*m, low nibbles then high nibbles. */
    private static void q4_K(ByteBuffer x, int block, float[] y, int o) {
        float d = Float16.toFloat(x.getShort(block));
        float min = Float16.toFloat(x.getShort(block + 2));
        int scales = block + 4;
        int q = block + 16;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
            int sm1 = scaleMinK4(x, scales, is);
            int sm2 = scaleMinK4(x, scales, is + 1);
            float d1 = d * (sm1 & 0xFF);
            float m1 = min * (sm1 >>> 8);
            float d2 = d * (sm2 & 0xFF);
            float m2 = min * (sm2 >>> 8);
            for (int l = 0; l < 32; l++) {
                y[o + j + l] = d1 * (x.get(q + l) & 0xF) - m1;
            }
            for (int l = 0; l < 32; l++) {
                y[o + j + 32 + l] = d2 * ((x.get(q + l) & 0xFF) >>> 4) - m2;
            }
        }
    }

    /** dequantize_row_q5_K: as Q4_K, with a fifth bit per value from qh (bit pair u1/u2 moving up 2 per 64 values). */
    private static void q5_K(ByteBuffer x, int block, float[] y, int o) {
        float d = Float16.toFloat(x.getShort(block));
        float min = Float16.toFloat(x.getShort(block + 2));
        int scales = block + 4;
        int qh = block + 16;
        int ql = block + 48;
        int u1 = 1;
        int u2 = 2;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            int sm1 = scaleMinK4(x, scales, is);
            int sm2 = scaleMinK4(x, scales, is + 1);
            float d1 = d * (sm1 & 0xFF);
            float m1 = min * (sm1 >>> 8);
            float d2 = d * (sm2 & 0xFF);
            float m2 = min * (sm2 >>> 8);
            for (int l = 0; l < 32; l++) {
                int h = (x.get(qh + l) & u1) != 0 ? 16 : 0;
                y[o + j + l] = d1 * ((x.get(ql + l) & 0xF) + h) - m1;
            }
            for (int l = 0; l < 32; l++) {
                int h = (x.get(qh + l) & u2) != 0 ? 16 : 0;
                y[o + j + 32 + l] = d2 * (((x.get(ql + l) & 0xFF) >>> 4) + h) - m2;
            }
        }
    }

    /**
     * dequantize_row_q6_K: 6-bit values (4 low bits in ql, 2 high bits in qh) minus 32, times d times an int8 scale
     * per 16 values; {@code d * sc * q} is evaluated left to right, as in C.
     */
    private static void q6_K(ByteBuffer x, int block, float[] y, int o) {
        float d = Float16.toFloat(x.getShort(block + 208));
        int ql = block;
        int qh = block + 128;
        int sc = block + 192;
        for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int lo = x.get(ql + l) & 0xFF;
                int lo32 = x.get(ql + l + 32) & 0xFF;
                int hi = x.get(qh + l) & 0xFF;
                int q1 = ((lo & 0xF) | ((hi & 3) << 4)) - 32;
                int q2 = ((lo32 & 0xF) | (((hi >>> 2) & 3) << 4)) - 32;
                int q3 = ((lo >>> 4) | (((hi >>> 4) & 3) << 4)) - 32;
                int q4 = ((lo32 >>> 4) | (((hi >>> 6) & 3) << 4)) - 32;
                y[o + n + l] = d * x.get(sc + is) * q1;
                y[o + n + l + 32] = d * x.get(sc + is + 2) * q2;
                y[o + n + l + 64] = d * x.get(sc + is + 4) * q3;
                y[o + n + l + 96] = d * x.get(sc + is + 6) * q4;
            }
        }
    }
}
