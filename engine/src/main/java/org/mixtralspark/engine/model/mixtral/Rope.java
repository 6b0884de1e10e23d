package org.mixtralspark.engine.model.mixtral;

import org.mixtralspark.engine.model.MixtralConfig;

/**
 * Rotary position embedding on the interleaved layout (GGUF's, llama.cpp's "NORM" mode): dimensions {@code 2i} and
 * {@code 2i+1} of each head form a pair rotated by {@code pos * theta^(-2i / headDim)}. HF checkpoints are permuted to
 * this layout at load. Angles are computed in double (DESIGN §2 pitfalls), then kept as float cos/sin tables that
 * grow with the longest position seen. A model's {@code rope_scaling} changes only the inverse frequencies
 * ({@link MixtralConfig#ropeInverseFrequencies}).
 */
public final class Rope {

    private static final int GROWTH = 256;

    private final int pairs;
    private final double[] inverseFrequency;
    private volatile float[] cos = new float[0]; // (position, pair)
    private volatile float[] sin = new float[0];

    /** The model's RoPE, its scaling included. */
    public Rope(MixtralConfig c) {
        this(c.ropeInverseFrequencies());
    }

    /** RoPE with these {@code headDim / 2} inverse frequencies (pair i turns by {@code pos * inverseFrequency[i]}). */
    public Rope(double[] inverseFrequency) {
        this.pairs = inverseFrequency.length;
        this.inverseFrequency = inverseFrequency.clone();
    }

    /** The angle of pair {@code i} at position {@code pos}, as the tables hold it (before rounding to float). */
    private double angle(int pos, int i) {
        return pos * inverseFrequency[i];
    }

    /** Rotates {@code heads} consecutive heads of {@code vec}, starting at {@code offset}, for position {@code pos}. */
    public void apply(float[] vec, int offset, int heads, int pos) {
        float[] c = cos;
        float[] s = sin;
        if ((pos + 1) * pairs > c.length) {
            grow(pos + 1);
            c = cos;
            s = sin;
        }
        int base = pos * pairs;
        int headDim = 2 * pairs;
        for (int h = 0; h < heads; h++) {
            int j = offset + h * headDim;
            for (int i = 0; i < pairs; i++, j += 2) {
                float x0 = vec[j];
                float x1 = vec[j + 1];
                vec[j] = x0 * c[base + i] - x1 * s[base + i];
                vec[j + 1] = x0 * s[base + i] + x1 * c[base + i];
            }
        }
    }

    private synchronized void grow(int positions) {
        int have = cos.length / pairs;
        if (positions <= have) {
            return;
        }
        int n = Math.max(positions, have + GROWTH);
        float[] c = java.util.Arrays.copyOf(cos, n * pairs);
        float[] s = java.util.Arrays.copyOf(sin, n * pairs);
        for (int p = have; p < n; p++) {
            for (int i = 0; i < pairs; i++) {
                double angle = angle(p, i);
                c[p * pairs + i] = (float) Math.cos(angle);
                s[p * pairs + i] = (float) Math.sin(angle);
            }
        }
        sin = s; // sin first: a reader that sees the new cos also sees the new sin
        cos = c;
    }
}
