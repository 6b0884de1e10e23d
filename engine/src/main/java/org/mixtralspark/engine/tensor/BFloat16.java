package org.mixtralspark.engine.tensor;

/** bfloat16 (ggml's {@code ggml_bf16_t}, safetensors BF16): the top 16 bits of a float. */
public final class BFloat16 {

    private BFloat16() {
    }

    /** The float whose top 16 bits are the low 16 bits of {@code bits}; exact. */
    public static float toFloat(int bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * The bfloat16 nearest to {@code f}, ties to even, as ggml's {@code ggml_compute_fp32_to_bf16}, gguf-py and
     * PyTorch round: NaN stays a quiet NaN, overflow rounds to infinity, subnormals are rounded, not flushed.
     *
     * @return the bfloat16's bits in the low 16 bits
     */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((x >>> 16) | 0x0040);
        }
        return (short) ((x + 0x7FFF + ((x >>> 16) & 1)) >>> 16);
    }
}
