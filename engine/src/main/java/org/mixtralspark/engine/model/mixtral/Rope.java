package org.mixtralspark.engine.model.mixtral;

/**
 * Rotary position embedding on the interleaved layout (GGUF's, llama.cpp's "NORM" mode): dimensions {@code 2i} and
 * {@code 2i+1} of each head form a pair rotated by {@code pos * theta^(-2i / headDim)}. HF checkpoints are permuted to
 * this layout at load. Angles are computed in double (DESIGN §2 pitfalls), then applied in float.
 */
public final class Rope {

    private final int headDim;
    private final double[] inverseFrequency;

    public Rope(int headDim, double theta) {
        this.headDim = headDim;
        this.inverseFrequency = new double[headDim / 2];
        for (int i = 0; i < headDim / 2; i++) {
            inverseFrequency[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
    }

    /** Rotates {@code heads} consecutive heads of {@code vec}, starting at {@code offset}, for position {@code pos}. */
    public void apply(float[] vec, int offset, int heads, int pos) {
        for (int i = 0; i < headDim / 2; i++) {
            double angle = pos * inverseFrequency[i];
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int j = offset + h * headDim + 2 * i;
                float x0 = vec[j];
                float x1 = vec[j + 1];
                vec[j] = x0 * cos - x1 * sin;
                vec[j + 1] = x0 * sin + x1 * cos;
            }
        }
    }
}
