package org.mixtralspark.engine.tensor;

/**
 * IEEE 754 binary16 ("half", ggml's {@code ggml_fp16_t}, safetensors F16) to and from float, exactly.
 * JDK 17 has no {@code Float.float16ToFloat} (it arrived in JDK 20).
 */
public final class Float16 {

    private Float16() {
    }

    /**
     * The float with the value of the half whose bits are the low 16 bits of {@code bits}. Exact for every half,
     * subnormals included; a NaN keeps its sign and payload and comes back quiet, as x86's F16C
     * {@code vcvtph2ps} and ggml's {@code ggml_compute_fp16_to_fp32} give it.
     */
    public static float toFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            int quiet = mantissa != 0 ? 0x0040_0000 : 0;
            return Float.intBitsToFloat(sign | 0x7F80_0000 | quiet | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24, exact in float (at most 10 significant bits, a power-of-two scale).
            float magnitude = mantissa * 0x1p-24f;
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
        }
        // Normal: rebias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
        return Float.intBitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
    }

    /**
     * The half nearest to {@code f}, ties to even (IEEE's default rounding, as F16C's {@code vcvtps2ph} with
     * rounding mode 0, ggml's {@code GGML_FP32_TO_FP16} and numpy's {@code astype(float16)} do): values from 65520
     * up become infinity, values under 2^-25 become signed zero, subnormals are rounded, not flushed. A NaN stays a
     * quiet NaN with the top of its payload.
     *
     * @return the half's bits in the low 16 bits
     */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7FFF_FFFF;
        if (abs >= 0x7F80_0000) {
            return (short) (abs == 0x7F80_0000 ? sign | 0x7C00 : sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        }
        if (abs >= 0x477F_F000) {
            // 65520 is half-way between the largest half (65504) and the next power of two: ties to even -> infinity.
            return (short) (sign | 0x7C00);
        }
        if (abs < 0x3880_0000) {
            // Below 2^-14, the smallest normal half: count units of 2^-24. The scaling is exact and rint() rounds
            // ties to even; a result of 1024 is exactly the bit pattern of the smallest normal half.
            int units = (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24f);
            return (short) (sign | units);
        }
        // Normal: rebias (127 -> 15) and drop 13 mantissa bits, rounding half to even; a carry out of the mantissa
        // correctly bumps the exponent.
        int rebiased = abs - ((127 - 15) << 23);
        int roundingBias = 0xFFF + ((rebiased >>> 13) & 1);
        return (short) (sign | ((rebiased + roundingBias) >>> 13));
    }
}
