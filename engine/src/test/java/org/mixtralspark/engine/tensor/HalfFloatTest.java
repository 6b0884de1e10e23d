package org.mixtralspark.engine.tensor;

import org.mixtralspark.engine.model.ModelFiles;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.TensorSource;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Float16} and {@link BFloat16}: exact decoding, round-to-nearest-even encoding. */
class HalfFloatTest {

    @Test
    void float16DecodesKnownValues() {
        assertEquals(0f, Float16.toFloat(0x0000));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Float16.toFloat(0x8000)));
        assertEquals(1f, Float16.toFloat(0x3C00));
        assertEquals(-2f, Float16.toFloat(0xC000));
        assertEquals(65504f, Float16.toFloat(0x7BFF));
        assertEquals(0x1p-14f, Float16.toFloat(0x0400)); // smallest normal
        assertEquals(0x1p-24f, Float16.toFloat(0x0001)); // smallest subnormal
        assertEquals(1023 * 0x1p-24f, Float16.toFloat(0x03FF)); // largest subnormal
        assertEquals(-0x1p-24f, Float16.toFloat(0x8001));
        assertEquals(Float.POSITIVE_INFINITY, Float16.toFloat(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, Float16.toFloat(0xFC00));
        assertTrue(Float.isNaN(Float16.toFloat(0x7C01)));
        assertTrue(Float.isNaN(Float16.toFloat(0xFE00)));
    }

    /** Every one of the 65536 halves decodes to a float that encodes back to the same bits (NaNs stay NaN). */
    @Test
    void float16RoundTripsEveryHalf() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Float16.toFloat(h);
            short back = Float16.fromFloat(f);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Float16.toFloat(back)), Integer.toHexString(h));
            } else {
                assertEquals(h, back & 0xFFFF, Integer.toHexString(h));
                // decoding is exact: the double value of the half, computed independently
                assertEquals(referenceHalfValue(h), (double) f, Integer.toHexString(h));
            }
        }
    }

    /** Between every two adjacent finite halves: the midpoint goes to the even one, one float ulp off it does not. */
    @Test
    void float16RoundsHalfToEven() {
        for (int h = 0; h < 0x7BFF; h++) {
            float lo = Float16.toFloat(h);
            float hi = Float16.toFloat(h + 1);
            float mid = (float) (((double) lo + hi) / 2); // exact: 12 significant bits at most
            assertEquals((double) lo + hi, 2.0 * mid, "midpoint exact");
            int even = (h & 1) == 0 ? h : h + 1;
            assertEquals(even, Float16.fromFloat(mid), "midpoint of " + Integer.toHexString(h));
            assertEquals(h, Float16.fromFloat(Math.nextDown(mid)), "below midpoint of " + Integer.toHexString(h));
            assertEquals(h + 1, Float16.fromFloat(Math.nextUp(mid)), "above midpoint of " + Integer.toHexString(h));
            assertEquals((short) (h | 0x8000), Float16.fromFloat(-Math.nextDown(mid)));
        }
    }

    @Test
    void float16EdgesOfTheRange() {
        assertEquals(0x7BFF, Float16.fromFloat(65519.996f));
        assertEquals(0x7C00, Float16.fromFloat(65520f)); // tie between 65504 and 65536: even is infinity
        assertEquals(0x7C00, Float16.fromFloat(1e10f));
        assertEquals((short) 0xFC00, Float16.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals(0x0000, Float16.fromFloat(0x1p-25f)); // tie between 0 and 2^-24: even is 0
        assertEquals(0x0001, Float16.fromFloat(Math.nextUp(0x1p-25f)));
        assertEquals(0x0000, Float16.fromFloat(Float.MIN_VALUE));
        assertEquals((short) 0x8000, Float16.fromFloat(-Float.MIN_VALUE));
        assertEquals(0x0400, Float16.fromFloat(Math.nextDown(0x1p-14f))); // rounds up into the normals
        assertTrue(Float.isNaN(Float16.toFloat(Float16.fromFloat(Float.NaN))));
    }

    @Test
    void bfloat16DecodesAndRoundsToNearestEven() {
        assertEquals(1f, BFloat16.toFloat(0x3F80));
        assertEquals(-2f, BFloat16.toFloat(0xC000));
        assertEquals(0x3F80, BFloat16.fromFloat(1f));
        // 1 + 2^-8 is the tie between 1 and 1 + 2^-7: even mantissa (1) wins; a bit more goes up.
        assertEquals(0x3F80, BFloat16.fromFloat(1f + 0x1p-8f));
        assertEquals(0x3F81, BFloat16.fromFloat(Math.nextUp(1f + 0x1p-8f)));
        // 1 + 3 * 2^-8 is the tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        assertEquals(0x3F82, BFloat16.fromFloat(1f + 3 * 0x1p-8f));
        assertEquals(0x7F80, BFloat16.fromFloat(Float.MAX_VALUE)); // overflows to infinity
        assertEquals((short) 0xFF80, BFloat16.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals(0x0001, BFloat16.fromFloat(Float.intBitsToFloat(0x0000_8001))); // subnormal rounded, not flushed
        assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(Float.intBitsToFloat(0x7F80_0001)))));
        Random rnd = new Random(1);
        for (int i = 0; i < 100_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isNaN(f)) {
                float back = BFloat16.toFloat(BFloat16.fromFloat(f));
                float down = Float.intBitsToFloat(Float.floatToRawIntBits(f) & 0xFFFF_0000);
                float up = Float.intBitsToFloat((Float.floatToRawIntBits(f) & 0xFFFF_0000) + 0x10000);
                assertTrue(back == down || back == up, Float.toString(f));
                double dd = Math.abs((double) f - down);
                double du = Math.abs((double) f - up);
                if (dd != du && !Float.isInfinite(up)) {
                    assertEquals(dd < du ? down : up, back, Float.toString(f));
                }
            }
        }
    }

    /** The half's value from its fields, in double: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024. */
    private static double referenceHalfValue(int h) {
        int s = (h >> 15) & 1;
        int e = (h >> 10) & 0x1F;
        int m = h & 0x3FF;
        double v = e == 0 ? Math.scalb(m / 1024.0, -14) : e == 31 ? Double.POSITIVE_INFINITY : Math.scalb(1 + m / 1024.0, e - 15);
        return s == 1 ? -v : v;
    }

    /**
     * Against the oracle's converters: kquant-f16.gguf was rounded by numpy, kquant-hf-bf16 by the oracle's RNE, both
     * from the F32 weights of kquant-hf (oracle README 1.2, 1.3).
     */
    @Test
    void matchesTheOracleConverters() {
        try (TensorSource f32 = ModelFiles.open(Oracle.model("kquant-hf"));
             TensorSource f16 = ModelFiles.open(Oracle.model("kquant-f16.gguf"));
             TensorSource bf16 = ModelFiles.open(Oracle.model("kquant-hf-bf16"))) {
            assertConverted(f32, "model.embed_tokens.weight", f16, "token_embd.weight", false);
            assertConverted(f32, "lm_head.weight", f16, "output.weight", false);
            assertConverted(f32, "model.layers.2.self_attn.v_proj.weight", f16, "blk.2.attn_v.weight", false);
            for (String name : f32.tensors().keySet()) {
                assertConverted(f32, name, bf16, name, true);
            }
        }
    }

    /**
     * The same without the F32 weights: the first 8 float32 values of every kquant tensor
     * ({@code references/dequant/kquant-f32}, GGUF names, ggml order) rounded to F16 give the first 8 values of the
     * F16 GGUF ({@code dequant/kquant-f16}, numpy's rounding), and rounded to BF16 the first 8 of the same tensor in
     * kquant-hf-bf16 (the oracle's RNE). Row 0 is not moved by the GGUF's q/k permutation; the first 8 values of an
     * {@code *_exps} tensor are expert 0's.
     */
    @Test
    void roundsTheOracleF32ValuesAsItsConvertersDid() {
        JsonNode f32 = Oracle.dequantReference("kquant-f32");
        JsonNode f16 = Oracle.dequantReference("kquant-f16");
        int halves = 0;
        int bhalves = 0;
        try (TensorSource bf16 = ModelFiles.open(Oracle.model("kquant-hf-bf16"))) {
            for (JsonNode t : f32.get("tensors")) {
                String name = t.get("name").asText();
                float[] values = new float[8];
                for (int i = 0; i < 8; i++) {
                    values[i] = (float) t.get("first8").get(i).asDouble();
                }
                JsonNode half = tensor(f16, name);
                if (half.get("type").asText().equals("F16")) {
                    for (int i = 0; i < 8; i++) {
                        assertEquals((float) half.get("first8").get(i).asDouble(),
                                Float16.toFloat(Float16.fromFloat(values[i])), name + "[" + i + "] = " + values[i] + " to F16");
                        halves++;
                    }
                }
                ByteBuffer b = bf16.bytes(bf16.tensors().get(hfName(name))).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 8; i++) {
                    assertEquals(b.getShort(2 * i), BFloat16.fromFloat(values[i]), name + "[" + i + "] = " + values[i] + " to BF16");
                    bhalves++;
                }
            }
        }
        assertEquals(f32.get("tensors").size() * 8, bhalves);
        assertTrue(halves > 0);
    }

    private static JsonNode tensor(JsonNode dequant, String name) {
        for (JsonNode t : dequant.get("tensors")) {
            if (t.get("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no " + name);
    }

    /** The HF name of a GGUF tensor; for {@code *_exps}, expert 0's. */
    private static String hfName(String gguf) {
        return switch (gguf) {
            case "token_embd.weight" -> "model.embed_tokens.weight";
            case "output_norm.weight" -> "model.norm.weight";
            case "output.weight" -> "lm_head.weight";
            default -> {
                String[] p = gguf.split("\\.", 3); // blk, N, the tensor
                yield "model.layers." + p[1] + "." + switch (p[2]) {
                    case "attn_norm.weight" -> "input_layernorm.weight";
                    case "ffn_norm.weight" -> "post_attention_layernorm.weight";
                    case "attn_q.weight" -> "self_attn.q_proj.weight";
                    case "attn_k.weight" -> "self_attn.k_proj.weight";
                    case "attn_v.weight" -> "self_attn.v_proj.weight";
                    case "attn_output.weight" -> "self_attn.o_proj.weight";
                    case "ffn_gate_inp.weight" -> "block_sparse_moe.gate.weight";
                    case "ffn_gate_exps.weight" -> "block_sparse_moe.experts.0.w1.weight";
                    case "ffn_down_exps.weight" -> "block_sparse_moe.experts.0.w2.weight";
                    case "ffn_up_exps.weight" -> "block_sparse_moe.experts.0.w3.weight";
                    default -> throw new AssertionError(gguf);
                };
            }
        };
    }

    private static void assertConverted(TensorSource f32, String name32, TensorSource half, String nameHalf, boolean bf16) {
        ByteBuffer a = f32.bytes(f32.tensors().get(name32));
        ByteBuffer b = half.bytes(half.tensors().get(nameHalf));
        assertEquals(a.remaining(), 2 * b.remaining(), name32);
        for (int i = 0; i < b.remaining() / 2; i++) {
            float f = a.getFloat(4 * i);
            short expected = b.getShort(2 * i);
            short got = bf16 ? BFloat16.fromFloat(f) : Float16.fromFloat(f);
            if (got != expected) {
                assertEquals(expected, got, name32 + "[" + i + "] = " + f);
            }
        }
    }
}
