package org.mixtralspark.udf;

import java.io.Serializable;
import java.util.List;

/**
 * The job's sampling parameters: what a row gets when it has no per-row column, or a null cell, for a parameter.
 * Validated like the engine's {@code SamplingParams}, naming the flag.
 *
 * @param maxNewTokens most tokens to generate (>= 1)
 * @param temperature  0 = greedy (>= 0)
 * @param topP         nucleus mass, (0, 1]; 1 = off
 * @param topK         0 = off (>= 0)
 * @param jobSeed      when set, each row's seed is derived from it and the row id ({@link RowSeeds}); null = a
 *                     random seed per row (not reproducible)
 * @param stop         stop strings
 */
public record SamplingDefaults(int maxNewTokens, double temperature, double topP, int topK, Long jobSeed,
                               List<String> stop) implements Serializable {

    public SamplingDefaults {
        require(maxNewTokens >= 1, "--max-new-tokens", maxNewTokens, "must be >= 1");
        require(Double.isFinite(temperature) && temperature >= 0, "--temperature", temperature, "must be >= 0");
        require(topP > 0 && topP <= 1, "--top-p", topP, "must be in (0, 1]");
        require(topK >= 0, "--top-k", topK, "must be >= 0 (0 = off)");
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) {
            require(!s.isEmpty(), "--stop", "\"\"", "must not contain an empty string");
        }
    }

    public static SamplingDefaults defaults() {
        return new SamplingDefaults(64, 0.0, 1.0, 0, null, List.of());
    }

    public SamplingDefaults withMaxNewTokens(int v) {
        return new SamplingDefaults(v, temperature, topP, topK, jobSeed, stop);
    }

    public SamplingDefaults withTemperature(double v) {
        return new SamplingDefaults(maxNewTokens, v, topP, topK, jobSeed, stop);
    }

    public SamplingDefaults withTopP(double v) {
        return new SamplingDefaults(maxNewTokens, temperature, v, topK, jobSeed, stop);
    }

    public SamplingDefaults withTopK(int v) {
        return new SamplingDefaults(maxNewTokens, temperature, topP, v, jobSeed, stop);
    }

    public SamplingDefaults withJobSeed(Long v) {
        return new SamplingDefaults(maxNewTokens, temperature, topP, topK, v, stop);
    }

    public SamplingDefaults withStop(List<String> v) {
        return new SamplingDefaults(maxNewTokens, temperature, topP, topK, jobSeed, v);
    }

    private static void require(boolean ok, String flag, Object value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException(flag + " = " + value + ": " + rule);
        }
    }
}
