package org.mixtralspark.engine.model;

import java.util.Arrays;

/**
 * How a model stretches RoPE past its trained context: config.json's {@code rope_scaling} (or transformers 5's
 * {@code rope_parameters}), or GGUF's {@code llama.rope.scaling.*} keys and {@code rope_freqs.weight} tensor. It only
 * changes the inverse frequencies {@code theta^(-2i / headDim)} that the rotation angles {@code pos * invFreq[i]} are
 * made from; every backend builds its tables from {@link #inverseFrequencies}.
 *
 * <p>The formulas are transformers' {@code modeling_rope_utils}: {@code _compute_linear_scaling_rope_parameters}
 * (every frequency divided by {@code factor}) and {@code _compute_llama3_parameters} (Llama 3.1: wavelengths shorter
 * than {@code original / high_freq_factor} kept, longer than {@code original / low_freq_factor} divided by
 * {@code factor}, those between interpolated). llama.cpp's converter stores llama3's per-frequency divisors in the
 * {@code rope_freqs.weight} tensor instead ({@code frequencyDivisors}); its attention factor is 1 for both.
 *
 * @param kind                  none, linear or llama3
 * @param factor                linear and llama3: how many times longer the context is (> 0; 1 for none)
 * @param lowFreqFactor         llama3's {@code low_freq_factor} (0 otherwise)
 * @param highFreqFactor        llama3's {@code high_freq_factor} (0 otherwise)
 * @param originalContextLength llama3's {@code original_max_position_embeddings} (0 otherwise)
 * @param frequencyDivisors     GGUF's {@code rope_freqs.weight}, one divisor per frequency (headDim / 2 of them), or
 *                              null: llama.cpp divides the inverse frequency by it ({@code theta / freq_factor})
 */
public record RopeScaling(Kind kind, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalContextLength, double[] frequencyDivisors) {

    /** The kinds of scaling there are formulas for; the names are config.json's {@code rope_type} values. */
    public enum Kind { NONE, LINEAR, LLAMA3 }

    private static final RopeScaling NONE = new RopeScaling(Kind.NONE, 1, 0, 0, 0, null);

    public RopeScaling {
        if (kind == null) {
            throw new IllegalArgumentException("rope_scaling: no kind");
        }
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("rope_scaling.factor = " + factor + ": must be a positive number");
        }
        if (kind == Kind.LLAMA3) {
            if (!(lowFreqFactor > 0) || Double.isInfinite(lowFreqFactor)) {
                throw new IllegalArgumentException("rope_scaling.low_freq_factor = " + lowFreqFactor
                        + ": must be a positive number");
            }
            // the smoothing divides by (high - low): equal factors would make every medium frequency NaN
            if (!(highFreqFactor > lowFreqFactor) || Double.isInfinite(highFreqFactor)) {
                throw new IllegalArgumentException("rope_scaling.high_freq_factor = " + highFreqFactor
                        + ": must be a number above low_freq_factor = " + lowFreqFactor);
            }
            if (originalContextLength <= 0) {
                throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings = "
                        + originalContextLength + ": must be > 0");
            }
        }
        if (frequencyDivisors != null) {
            frequencyDivisors = frequencyDivisors.clone();
            for (int i = 0; i < frequencyDivisors.length; i++) {
                double d = frequencyDivisors[i];
                if (!(d > 0) || Double.isInfinite(d)) {
                    throw new IllegalArgumentException("rope_freqs.weight[" + i + "] = " + d
                            + ": must be a positive number");
                }
            }
        }
    }

    /** No scaling: RoPE as trained. */
    public static RopeScaling none() {
        return NONE;
    }

    /** transformers' {@code linear}: positions compressed {@code factor} times (every frequency divided by it). */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Kind.LINEAR, factor, 0, 0, 0, null);
    }

    /** transformers' {@code llama3} (Llama 3.1's config: factor 8, low 1, high 4, original 8192). */
    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalContextLength) {
        return new RopeScaling(Kind.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalContextLength, null);
    }

    /** This scaling with GGUF's per-frequency divisors applied after it. */
    public RopeScaling withFrequencyDivisors(double[] divisors) {
        return new RopeScaling(kind, factor, lowFreqFactor, highFreqFactor, originalContextLength, divisors);
    }

    public boolean isNone() {
        return kind == Kind.NONE && frequencyDivisors == null;
    }

    @Override
    public double[] frequencyDivisors() {
        return frequencyDivisors == null ? null : frequencyDivisors.clone();
    }

    /**
     * The {@code headDim / 2} inverse frequencies, in double (DESIGN §2: RoPE angles in double): unscaled
     * {@code theta^(-2i / headDim)}, then this scaling's formula.
     */
    public double[] inverseFrequencies(int headDim, double theta) {
        int pairs = headDim / 2;
        if (frequencyDivisors != null && frequencyDivisors.length != pairs) {
            throw new IllegalArgumentException("rope_freqs.weight has " + frequencyDivisors.length
                    + " entries; head_dim " + headDim + " needs " + pairs);
        }
        double[] inv = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            double base = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
            inv[i] = switch (kind) {
                case NONE -> base;
                case LINEAR -> base / factor;
                case LLAMA3 -> llama3(base);
            };
            if (frequencyDivisors != null) {
                inv[i] /= frequencyDivisors[i];
            }
        }
        return inv;
    }

    /** transformers' {@code _compute_llama3_parameters} for one frequency. */
    private double llama3(double invFreq) {
        double wavelength = 2 * Math.PI / invFreq;
        double lowFreqWavelength = originalContextLength / lowFreqFactor;
        double highFreqWavelength = originalContextLength / highFreqFactor;
        if (wavelength < highFreqWavelength) {
            return invFreq; // high frequencies (short wavelengths) keep their resolution
        }
        if (wavelength > lowFreqWavelength) {
            return invFreq / factor; // low frequencies are interpolated as linear scaling does
        }
        double smooth = (originalContextLength / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * invFreq / factor + smooth * invFreq;
    }

    /**
     * llama.cpp's {@code rope_freqs.weight} for this llama3 scaling, as its converter ({@code LlamaModel}'s
     * {@code generate_extra_tensors}) computes it: the divisor of each unscaled frequency.
     */
    public double[] llama3Divisors(int headDim, double theta) {
        double[] scaled = inverseFrequencies(headDim, theta);
        double[] divisors = new double[scaled.length];
        double[] plain = none().inverseFrequencies(headDim, theta);
        for (int i = 0; i < scaled.length; i++) {
            divisors[i] = plain[i] / scaled[i];
        }
        return divisors;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RopeScaling r && kind == r.kind && factor == r.factor && lowFreqFactor == r.lowFreqFactor
                && highFreqFactor == r.highFreqFactor && originalContextLength == r.originalContextLength
                && Arrays.equals(frequencyDivisors, r.frequencyDivisors);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new double[] {kind.ordinal(), factor, lowFreqFactor, highFreqFactor,
                originalContextLength}) * 31 + Arrays.hashCode(frequencyDivisors);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> frequencyDivisors == null ? "none" : "rope_freqs";
            case LINEAR -> "linear(factor " + factor + ")";
            case LLAMA3 -> "llama3(factor " + factor + ", low " + lowFreqFactor + ", high " + highFreqFactor
                    + ", original " + originalContextLength + ")";
        } + (frequencyDivisors != null && kind != Kind.NONE ? " + rope_freqs" : "");
    }
}
