package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The shapes of the weights on the device, and their bytes. Per layer the projections are stacked so that each step
 * runs one product where the checkpoint has several (vLLM's {@code qkv_proj} and {@code w13}):
 *
 * <pre>
 * wqkv  (qDim + 2 kvDim, dim)   rows: wq (q rows in the interleaved RoPE layout), wk (likewise), wv
 * wo    (dim, qDim)
 * w13   (experts, 2 hidden, dim)   per expert: w1 (gate) rows, then w3 (up) rows
 * w2    (experts, dim, hidden)
 * attn_norm, ffn_norm (dim) fp32; router (experts, dim) fp32, none for a dense model
 * </pre>
 * plus the embedding and LM head, (vocab, dim) each, and the final norm (dim) fp32. Matrices are stored in the
 * {@link Precision}'s type; a Q8_0 or K-quant checkpoint is dequantised to it at load (so a Q8_0 file takes twice its
 * size on the device in bf16: simplicity first; int8 weights with scales would halve the bytes of a decode step).
 */
record DeviceWeightLayout(MixtralConfig c, Precision precision) {

    long qkvRows() {
        return (long) c.qDim() + 2L * c.kvDim();
    }

    long wqkvElements() {
        return qkvRows() * c.dim();
    }

    long woElements() {
        return (long) c.dim() * c.qDim();
    }

    /** Elements of one expert's w13, (2 hidden, dim): the expert stride of the grouped product. */
    long w13ExpertElements() {
        return 2L * c.hiddenDim() * c.dim();
    }

    /** Elements of one expert's w2, (dim, hidden). */
    long w2ExpertElements() {
        return (long) c.dim() * c.hiddenDim();
    }

    long embeddingElements() {
        return (long) c.vocabSize() * c.dim();
    }

    long routerFloats() {
        return c.isMoe() ? (long) c.experts() * c.dim() : 0;
    }

    /** Bytes of one layer's weights. */
    long layerBytes() {
        long matrices = wqkvElements() + woElements() + c.experts() * (w13ExpertElements() + w2ExpertElements());
        return matrices * precision.bytes + (2L * c.dim() + routerFloats()) * Float.BYTES;
    }

    /** Bytes of every weight on the device. */
    long totalBytes() {
        return c.layers() * layerBytes() + 2 * embeddingElements() * precision.bytes + (long) c.dim() * Float.BYTES;
    }

    /**
     * Bytes of weights one decode token reads: attention, the chosen experts of every layer, the router and norms,
     * one embedding row and the LM head (the numerator of the decode roofline).
     */
    long activeBytesPerToken() {
        long perLayer = (wqkvElements() + woElements()
                + (long) c.expertsUsed() * (w13ExpertElements() + w2ExpertElements())) * precision.bytes
                + (2L * c.dim() + routerFloats()) * Float.BYTES;
        return c.layers() * perLayer + embeddingElements() * precision.bytes + (long) c.dim() * precision.bytes
                + (long) c.dim() * Float.BYTES;
    }
}
