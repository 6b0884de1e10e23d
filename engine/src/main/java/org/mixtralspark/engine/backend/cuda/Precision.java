package org.mixtralspark.engine.backend.cuda;

/**
 * What the CUDA backend stores weights, matrix-product inputs and the KV cache in. Activations on the residual
 * stream, norms, router logits and matrix-product outputs are fp32 in both.
 */
public enum Precision {

    /** bf16 storage, tensor-core products with fp32 accumulation: the production mode. */
    BF16(2, "_bf16"),

    /**
     * fp32 everywhere, plain fp32 products: a debug mode that computes what the CPU backend computes up to summation
     * order, so that greedy continuations match it token for token. Twice the memory of {@link #BF16}.
     */
    F32(4, "_f32");

    /** Bytes of one stored element. */
    public final int bytes;
    /** The suffix of this mode's kernel names (gemm_bf16, gemm_f32, ...). */
    final String kernelSuffix;

    Precision(int bytes, String kernelSuffix) {
        this.bytes = bytes;
        this.kernelSuffix = kernelSuffix;
    }

    /** "bf16" or "f32" (any case), as in {@code -Dmixtral.cuda.precision}. */
    public static Precision parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "bf16" -> BF16;
            case "f32", "fp32" -> F32;
            default -> throw new IllegalArgumentException("CUDA precision = " + s + ": must be bf16 or f32");
        };
    }

    /** The mode selected by the system property {@code mixtral.cuda.precision} (default bf16). */
    public static Precision fromSystemProperty() {
        return parse(System.getProperty("mixtral.cuda.precision", "bf16"));
    }
}
