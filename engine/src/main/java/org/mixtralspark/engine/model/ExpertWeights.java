package org.mixtralspark.engine.model;

import org.mixtralspark.engine.tensor.WeightMatrix;

/**
 * One SwiGLU expert, {@code w2(silu(w1 x) * w3 x)} (HF {@code MixtralBlockSparseTop2MLP}).
 *
 * @param gate w1, (hiddenDim, dim)
 * @param up   w3, (hiddenDim, dim)
 * @param down w2, (dim, hiddenDim)
 */
public record ExpertWeights(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {

    /** Bytes read to run this expert on one token. */
    public long byteSize() {
        return gate.byteSize() + up.byteSize() + down.byteSize();
    }
}
