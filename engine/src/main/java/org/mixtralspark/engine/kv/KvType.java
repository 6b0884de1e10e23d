package org.mixtralspark.engine.kv;

import java.util.Locale;

/**
 * How a paged KV cache stores keys and values. 16-bit storage halves the cache (twice the sequences or context in
 * the same memory, as llama.cpp's default {@code f16} cache); the attention kernels widen each value to fp32 before
 * using it, so only the stored keys and values are rounded, never the arithmetic.
 */
public enum KvType {
    /** fp32: exact, what the oracle comparisons use. */
    F32(4),
    /** IEEE half: 11 significant bits, range +-65504 (keys and values of these models stay far inside it). */
    F16(2),
    /** bfloat16: 8 significant bits, fp32's range. */
    BF16(2);

    /** Bytes per stored value. */
    public final int bytes;

    KvType(int bytes) {
        this.bytes = bytes;
    }

    /** "f32", "f16" or "bf16" (any case). */
    public static KvType parse(String name) {
        if (name != null) {
            switch (name.trim().toLowerCase(Locale.ROOT)) {
                case "f32": return F32;
                case "f16": return F16;
                case "bf16": return BF16;
                default: break;
            }
        }
        throw new IllegalArgumentException("KV type = " + name + ": must be f32, f16 or bf16");
    }

    /** The name the options spell: f32, f16 or bf16. */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
