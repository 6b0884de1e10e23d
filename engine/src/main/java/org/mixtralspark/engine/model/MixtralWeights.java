package org.mixtralspark.engine.model;

import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.WeightMatrix;

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

    /**
     * These weights with every quantised, F16 and BF16 matrix copied to the heap ({@link WeightMatrix#onHeap()}); F32
     * matrices, whose kernel gains nothing from it, and the token embedding (one row read per token) stay where they
     * are.
     */
    public MixtralWeights withWeightsOnHeap() {
        LayerWeights[] ls = new LayerWeights[layers.length];
        for (int i = 0; i < ls.length; i++) {
            LayerWeights l = layers[i];
            ExpertWeights[] es = new ExpertWeights[l.experts().length];
            for (int e = 0; e < es.length; e++) {
                ExpertWeights x = l.experts()[e];
                es[e] = new ExpertWeights(x.gate().onHeap(), x.up().onHeap(), x.down().onHeap());
            }
            ls[i] = new LayerWeights(l.attnNorm(), l.wq().onHeap(), l.wk().onHeap(), l.wv().onHeap(), l.wo().onHeap(),
                    l.ffnNorm(), l.router(), es);
        }
        return new MixtralWeights(config, tokenEmbedding, ls, outputNorm, lmHead.onHeap());
    }

    /** Bytes {@link #withWeightsOnHeap()} copies to the heap. */
    public long heapCopyBytes() {
        long bytes = copyBytes(lmHead);
        for (LayerWeights l : layers) {
            bytes += copyBytes(l.wq()) + copyBytes(l.wk()) + copyBytes(l.wv()) + copyBytes(l.wo());
            for (ExpertWeights e : l.experts()) {
                bytes += copyBytes(e.gate()) + copyBytes(e.up()) + copyBytes(e.down());
            }
        }
        return bytes;
    }

    /** What {@link WeightMatrix#onHeap()} copies: everything but F32 (a matrix over 2 GiB is counted, not copied). */
    private static long copyBytes(WeightMatrix w) {
        return w.type() != GgmlType.F32 ? w.byteSize() : 0;
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
