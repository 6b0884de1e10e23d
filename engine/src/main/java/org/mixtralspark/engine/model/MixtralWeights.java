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

    /**
     * These weights with every quantised matrix copied to the heap ({@link WeightMatrix#onHeap()}); F32/F16/BF16
     * matrices, whose kernels gain nothing from it, stay where they are.
     */
    public MixtralWeights withQuantisedOnHeap() {
        LayerWeights[] ls = new LayerWeights[layers.length];
        for (int i = 0; i < ls.length; i++) {
            LayerWeights l = layers[i];
            ExpertWeights[] es = new ExpertWeights[l.experts().length];
            for (int e = 0; e < es.length; e++) {
                ExpertWeights x = l.experts()[e];
                es[e] = new ExpertWeights(quantisedOnHeap(x.gate()), quantisedOnHeap(x.up()),
                        quantisedOnHeap(x.down()));
            }
            ls[i] = new LayerWeights(l.attnNorm(), quantisedOnHeap(l.wq()), quantisedOnHeap(l.wk()),
                    quantisedOnHeap(l.wv()), quantisedOnHeap(l.wo()), l.ffnNorm(), l.router(), es);
        }
        return new MixtralWeights(config, tokenEmbedding, ls, outputNorm, quantisedOnHeap(lmHead));
    }

    /** Bytes {@link #withQuantisedOnHeap()} copies to the heap. */
    public long quantisedBytes() {
        long bytes = quantised(lmHead);
        for (LayerWeights l : layers) {
            bytes += quantised(l.wq()) + quantised(l.wk()) + quantised(l.wv()) + quantised(l.wo());
            for (ExpertWeights e : l.experts()) {
                bytes += quantised(e.gate()) + quantised(e.up()) + quantised(e.down());
            }
        }
        return bytes;
    }

    private static boolean isQuantised(WeightMatrix w) {
        return w.type().blockSize > 1;
    }

    private static long quantised(WeightMatrix w) {
        return isQuantised(w) ? w.byteSize() : 0;
    }

    private static WeightMatrix quantisedOnHeap(WeightMatrix w) {
        return isQuantised(w) ? w.onHeap() : w;
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
