package org.mixtralspark.engine.model;

import org.mixtralspark.engine.tensor.WeightMatrix;

/**
 * The weights of one decoder layer. q and k rows are in the interleaved RoPE layout (GGUF's; HF checkpoints are
 * permuted to it at load, see {@link ModelLoader}).
 *
 * @param attnNorm  RMSNorm weight before attention, (dim)
 * @param wq        query projection, (heads * headDim, dim)
 * @param wk        key projection, (kvHeads * headDim, dim)
 * @param wv        value projection, (kvHeads * headDim, dim)
 * @param wo        attention output projection, (dim, heads * headDim)
 * @param ffnNorm   RMSNorm weight before the MoE block, (dim)
 * @param router    router (gate) weights in fp32, (experts, dim) row-major; a dense model has none (null)
 * @param experts   the SwiGLU experts; a dense model has exactly one
 */
public record LayerWeights(
        float[] attnNorm,
        WeightMatrix wq,
        WeightMatrix wk,
        WeightMatrix wv,
        WeightMatrix wo,
        float[] ffnNorm,
        float[] router,
        ExpertWeights[] experts) {
}
