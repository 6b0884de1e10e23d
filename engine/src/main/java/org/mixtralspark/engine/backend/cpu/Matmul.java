package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.WeightMatrix;

/**
 * Batched matrix product with a weight matrix: {@code out (T, W.rows) = x (T, W.cols) @ W^T}, i.e. for every token
 * {@code t} and row {@code r}, {@code out[t * outStride + r] = W[r] . x[t * W.cols ...]}. Each weight row is read once
 * per call for all {@code T} tokens. Implementations: {@link ScalarMatmul} (the reference) and
 * {@link VectorMatmul} (Vector API), the exact ones, and {@link NativeMatmul} (int8 activations, native kernels), the
 * fast one; tests hold the others to the first.
 */
public interface Matmul {

    /**
     * @param w         the weights, {@code (rows, cols)}
     * @param x         {@code T} input rows of {@code cols} floats, contiguous from offset 0
     * @param tokens    {@code T}
     * @param out       receives {@code T} output rows; row {@code t} starts at {@code t * outStride}
     * @param outStride distance between output rows (>= w.rows())
     * @param team      threads to split the weight rows over
     */
    void apply(WeightMatrix w, float[] x, int tokens, float[] out, int outStride, ThreadTeam team);

    default void apply(WeightMatrix w, float[] x, int tokens, float[] out, ThreadTeam team) {
        apply(w, x, tokens, out, w.rows(), team);
    }
}
