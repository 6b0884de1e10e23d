package org.mixtralspark.engine.model;

/**
 * The hyper-parameters of a Mixtral-family model (DESIGN §2). A dense Llama/Mistral model is the one-expert case:
 * {@code experts = 1, expertsUsed = 1}. Filled from an HF {@code config.json} ({@link HfConfigs}) or from GGUF
 * metadata ({@link GgufConfigs}) into this same record, and validated here.
 *
 * @param vocabSize     vocabulary size (rows of the embedding and of the LM head)
 * @param dim           hidden size (Mixtral 8x7B: 4096)
 * @param hiddenDim     intermediate size of one expert's SwiGLU MLP (14336)
 * @param layers        decoder layers (32)
 * @param heads         query heads (32)
 * @param kvHeads       key/value heads, grouped-query attention (8)
 * @param headDim       dimensions per head (128); usually dim / heads
 * @param experts       experts per MoE layer (8); 1 for a dense model
 * @param expertsUsed   experts each token is routed to (2); 1 for a dense model
 * @param ropeTheta     RoPE base frequency (1e6)
 * @param rmsEps        RMSNorm epsilon (1e-5)
 * @param contextLength the model's trained context (32768)
 * @param slidingWindow attend to this many last positions only (Mistral v0.1's {@code sliding_window}: 4096);
 *                      0 = every earlier position (Mixtral)
 * @param ropeScaling   how RoPE's frequencies are stretched past the trained context ({@code rope_scaling}); never
 *                      null ({@link RopeScaling#none()})
 */
public record MixtralConfig(
        int vocabSize,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int experts,
        int expertsUsed,
        double ropeTheta,
        float rmsEps,
        int contextLength,
        int slidingWindow,
        RopeScaling ropeScaling) {

    /** A model that attends to every earlier position (no sliding window). */
    public MixtralConfig(int vocabSize, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                         int experts, int expertsUsed, double ropeTheta, float rmsEps, int contextLength) {
        this(vocabSize, dim, hiddenDim, layers, heads, kvHeads, headDim, experts, expertsUsed, ropeTheta, rmsEps,
                contextLength, 0);
    }

    /** A model without RoPE scaling. */
    public MixtralConfig(int vocabSize, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                         int experts, int expertsUsed, double ropeTheta, float rmsEps, int contextLength,
                         int slidingWindow) {
        this(vocabSize, dim, hiddenDim, layers, heads, kvHeads, headDim, experts, expertsUsed, ropeTheta, rmsEps,
                contextLength, slidingWindow, RopeScaling.none());
    }

    public MixtralConfig {
        if (ropeScaling == null) {
            ropeScaling = RopeScaling.none();
        }
        positive("vocab_size", vocabSize);
        positive("hidden_size", dim);
        positive("intermediate_size", hiddenDim);
        positive("num_hidden_layers", layers);
        positive("num_attention_heads", heads);
        positive("num_key_value_heads", kvHeads);
        positive("head_dim", headDim);
        positive("num_local_experts", experts);
        positive("num_experts_per_tok", expertsUsed);
        positive("max_position_embeddings", contextLength);
        // Upper limits, far above any real model (the largest in brackets), so that the products the engine sizes
        // arrays with (heads x head_dim, dim x vocab rows, experts x layers) stay well inside an int.
        atMost("vocab_size", vocabSize, 1 << 20);              // Gemma: 262 144
        atMost("hidden_size", dim, 1 << 16);                   // Llama 3.1 405B: 16 384
        atMost("intermediate_size", hiddenDim, 1 << 18);       // Llama 3.1 405B: 53 248
        atMost("num_hidden_layers", layers, 1 << 10);          // Llama 3.1 405B: 126
        atMost("num_attention_heads", heads, 1 << 10);         // 128
        atMost("head_dim", headDim, 1 << 10);                  // 256
        atMost("num_local_experts", experts, 1 << 10);         // DeepSeek-V3: 256
        atMost("max_position_embeddings", contextLength, 1 << 24); // Llama 4 Scout: 10 485 760
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding_window = " + slidingWindow + ": must be >= 0 (0 = none)");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads = " + heads
                    + " is not a multiple of num_key_value_heads = " + kvHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim = " + headDim + ": RoPE needs an even head dimension");
        }
        double[] divisors = ropeScaling.frequencyDivisors();
        if (divisors != null && divisors.length != headDim / 2) {
            throw new IllegalArgumentException("rope_freqs.weight has " + divisors.length + " entries; head_dim "
                    + headDim + " needs " + headDim / 2);
        }
        if (expertsUsed > experts) {
            throw new IllegalArgumentException("num_experts_per_tok = " + expertsUsed
                    + " exceeds num_local_experts = " + experts);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("rope_theta = " + ropeTheta + ": must be a positive number");
        }
        if (!(rmsEps > 0) || Float.isInfinite(rmsEps)) {
            throw new IllegalArgumentException("rms_norm_eps = " + rmsEps + ": must be a positive number");
        }
    }

    /**
     * {@code dim / heads}, the head dimension of a config that does not state it; a
     * {@link org.mixtralspark.engine.io.ModelFormatException} naming the key when that is not a whole number.
     *
     * @param keys the file's names for dim, heads and the head dimension (config.json's or GGUF's)
     */
    static int headDimOf(int dim, int heads, java.nio.file.Path file, String... keys) {
        if (heads <= 0) {
            throw new org.mixtralspark.engine.io.ModelFormatException(file, keys[1] + " = " + heads
                    + ": must be > 0 (" + keys[1] + ")");
        }
        if (dim % heads != 0) {
            throw new org.mixtralspark.engine.io.ModelFormatException(file, keys[0] + " = " + dim
                    + " is not a multiple of " + keys[1] + " = " + heads + ", and the head dimension is not given ("
                    + keys[2] + ")");
        }
        return dim / heads;
    }

    private static void atMost(String name, long v, long limit) {
        if (v > limit) {
            throw new IllegalArgumentException(name + " = " + v + ": over the limit of " + limit
                    + " (no real model is that large; a corrupt file?)");
        }
    }

    /** Width of the query projection: heads x headDim. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of the key and value projections: kvHeads x headDim. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Query heads sharing one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    public boolean isMoe() {
        return experts > 1;
    }

    /** Mixtral 8x7B's shape (for benchmarks and generated test models). */
    public static MixtralConfig mixtral8x7b() {
        return new MixtralConfig(32000, 4096, 14336, 32, 32, 8, 128, 8, 2, 1e6, 1e-5f, 32768);
    }

    /** A copy with another layer count (e.g. a 2-layer slice of 8x7B for benchmarks). */
    public MixtralConfig withLayers(int n) {
        return new MixtralConfig(vocabSize, dim, hiddenDim, n, heads, kvHeads, headDim, experts, expertsUsed,
                ropeTheta, rmsEps, contextLength, slidingWindow, ropeScaling);
    }

    /** A copy with another RoPE scaling. */
    public MixtralConfig withRopeScaling(RopeScaling scaling) {
        return new MixtralConfig(vocabSize, dim, hiddenDim, layers, heads, kvHeads, headDim, experts, expertsUsed,
                ropeTheta, rmsEps, contextLength, slidingWindow, scaling);
    }

    /** RoPE's {@code headDim / 2} inverse frequencies, scaled as {@link #ropeScaling} says (every backend's table). */
    public double[] ropeInverseFrequencies() {
        return ropeScaling.inverseFrequencies(headDim, ropeTheta);
    }

    /**
     * The first position a token at {@code pos} attends to: {@code pos - slidingWindow + 1} with a sliding window
     * (Mistral v0.1; transformers' mask keeps key j for query i when {@code j > i - sliding_window}), else 0.
     */
    public int firstAttended(int pos) {
        return slidingWindow > 0 ? Math.max(0, pos - slidingWindow + 1) : 0;
    }

    private static void positive(String name, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " = " + v + ": must be > 0");
        }
    }
}
