package org.mixtralspark.engine.model;

import org.mixtralspark.engine.kernels.cpu.WeightMatrix;

/**
 * All weights of a model, immutable and shared by every thread (llama2.c's {@code TransformerWeights}). The large
 * matrices are views of the memory-mapped file; only norms and routers are small heap arrays.
 *
 * @param config         hyper-parameters
 * @param tokenEmbedding (vocab, dim)
 * @param layers         decoder layers
 * @param outputNorm     final RMSNorm weight, (dim)
 * @param lmHead         output projection, (vocab, dim)
 */
public record MixtralWeights(
        MixtralConfig config,
        WeightMatrix tokenEmbedding,
        LayerWeights[] layers,
        float[] outputNorm,
        WeightMatrix lmHead) {

    /** Bytes of weights read to compute one token (the active parameters: chosen experts only). */
    public long activeBytesPerToken() {
        long bytes = lmHead.byteSize() + tokenEmbedding.rowBytes();
        for (LayerWeights l : layers) {
            bytes += l.wq().byteSize() + l.wk().byteSize() + l.wv().byteSize() + l.wo().byteSize();
            bytes += (long) config.expertsUsed() * l.experts()[0].byteSize();
        }
        return bytes;
    }

    /** Bytes of all weights. */
    public long totalBytes() {
        long bytes = lmHead.byteSize() + tokenEmbedding.byteSize();
        for (LayerWeights l : layers) {
            bytes += l.wq().byteSize() + l.wk().byteSize() + l.wv().byteSize() + l.wo().byteSize();
            for (ExpertWeights e : l.experts()) {
                bytes += e.byteSize();
            }
        }
        return bytes;
    }
}
