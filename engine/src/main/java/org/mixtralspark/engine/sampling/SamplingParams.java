package org.mixtralspark.engine.sampling;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * How one request is sampled and when it stops. Validated when built: a bad value throws
 * {@link IllegalArgumentException} naming the parameter and the value. Defaults follow vLLM's
 * {@code SamplingParams}: temperature 1, no top-k / top-p / min-p truncation, no penalties. Serializable, so that a
 * Spark job's defaults travel to the executors as they are (deserializing runs the validation again).
 *
 * @param maxNewTokens      stop after this many generated tokens (>= 1)
 * @param temperature       0 means greedy (argmax, lowest id wins ties); otherwise logits are divided by it (>= 0);
 *                          below {@link #GREEDY_TEMPERATURE} counts as 0, as in vLLM
 * @param topK              keep the k most likely tokens; 0 = off (>= 0)
 * @param topP              keep the smallest set of most likely tokens whose probability reaches p; 1 = off (0, 1]
 * @param minP              drop tokens whose probability is below minP times the top probability; 0 = off [0, 1]
 * @param repetitionPenalty CTRL-style: a logit of a token already seen (prompt or output) is divided by it when
 *                          positive, multiplied when negative; 1 = off (> 0)
 * @param presencePenalty   subtracted once from the logit of every token already generated [-2, 2]
 * @param frequencyPenalty  subtracted per occurrence from the logit of every token already generated [-2, 2]
 * @param seed              seed of this request's random stream; null = a random seed
 * @param stopStrings       generation stops when the text contains one of these; the text returned ends before it
 * @param stopTokenIds      generation stops when one of these ids is generated (it is not part of the text)
 * @param ignoreEos         keep generating past the end-of-sequence token
 * @param logprobs          how many top alternatives to report with each generated token's log-probability; 0 = none
 * @param n                 how many independent samples of the prompt to draw (vLLM's and OpenAI's {@code n}),
 *                          in [1, {@link #MAX_N}]; sample i is seeded with {@link Seeds#sampleSeed}(seed, i), so
 *                          sample 0 is what n = 1 gives. {@code Engine.submit} runs one sample and refuses n > 1;
 *                          {@code Engine.submitN} runs them all on one prefill of the prompt
 */
public record SamplingParams(
        int maxNewTokens,
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        Long seed,
        List<String> stopStrings,
        int[] stopTokenIds,
        boolean ignoreEos,
        int logprobs,
        int n) implements Serializable {

    private static final long serialVersionUID = 2L;

    public static final int MAX_LOGPROBS = 20;

    /** Most samples of one prompt: each is a sequence in the running batch, so a row cannot take the whole engine. */
    public static final int MAX_N = 64;

    /**
     * Temperatures below this are greedy: vLLM's {@code _SAMPLING_EPS}. Dividing logits by a tinier temperature only
     * risks overflow, and the distribution is already an argmax to within rounding.
     */
    public static final float GREEDY_TEMPERATURE = 1e-5f;

    public SamplingParams {
        require(maxNewTokens >= 1, "max_new_tokens", maxNewTokens, "must be >= 1");
        require(Float.isFinite(temperature) && temperature >= 0, "temperature", temperature, "must be >= 0");
        require(topK >= 0, "top_k", topK, "must be >= 0 (0 = off)");
        require(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1]");
        require(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1]");
        require(Float.isFinite(repetitionPenalty) && repetitionPenalty > 0, "repetition_penalty", repetitionPenalty,
                "must be > 0 (1 = off)");
        require(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", presencePenalty, "must be in [-2, 2]");
        require(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", frequencyPenalty,
                "must be in [-2, 2]");
        require(logprobs >= 0 && logprobs <= MAX_LOGPROBS, "logprobs", logprobs, "must be in [0, " + MAX_LOGPROBS + "]");
        require(n >= 1 && n <= MAX_N, "n", n, "must be in [1, " + MAX_N + "]");
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        for (String s : stopStrings) {
            require(!s.isEmpty(), "stop", "\"\"", "must not contain an empty string");
        }
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
    }

    /** The defaults: temperature 1, up to 16 new tokens, no truncation or penalties, random seed. */
    public static SamplingParams defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxNewTokens = maxNewTokens;
        b.temperature = temperature;
        b.topK = topK;
        b.topP = topP;
        b.minP = minP;
        b.repetitionPenalty = repetitionPenalty;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.seed = seed;
        b.stopStrings = stopStrings;
        b.stopTokenIds = stopTokenIds;
        b.ignoreEos = ignoreEos;
        b.logprobs = logprobs;
        b.n = n;
        return b;
    }

    /** Greedy: argmax, no randomness. A temperature below {@link #GREEDY_TEMPERATURE}, or top-k 1. */
    public boolean isGreedy() {
        return temperature < GREEDY_TEMPERATURE || topK == 1;
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SamplingParams p && p.maxNewTokens == maxNewTokens && p.temperature == temperature
                && p.topK == topK && p.topP == topP && p.minP == minP && p.repetitionPenalty == repetitionPenalty
                && p.presencePenalty == presencePenalty && p.frequencyPenalty == frequencyPenalty
                && Objects.equals(p.seed, seed) && p.stopStrings.equals(stopStrings)
                && Arrays.equals(p.stopTokenIds, stopTokenIds) && p.ignoreEos == ignoreEos && p.logprobs == logprobs
                && p.n == n;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxNewTokens, temperature, topK, topP, minP, seed, stopStrings, logprobs, n)
                + Arrays.hashCode(stopTokenIds);
    }

    private static void require(boolean ok, String name, Object value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException(name + " = " + value + ": " + rule);
        }
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private int maxNewTokens = 16;
        private float temperature = 1.0f;
        private int topK = 0;
        private float topP = 1.0f;
        private float minP = 0.0f;
        private float repetitionPenalty = 1.0f;
        private float presencePenalty = 0.0f;
        private float frequencyPenalty = 0.0f;
        private Long seed = null;
        private List<String> stopStrings = List.of();
        private int[] stopTokenIds = new int[0];
        private boolean ignoreEos = false;
        private int logprobs = 0;
        private int n = 1;

        public Builder maxNewTokens(int v) { maxNewTokens = v; return this; }
        public Builder temperature(float v) { temperature = v; return this; }
        public Builder greedy() { temperature = 0; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(float v) { topP = v; return this; }
        public Builder minP(float v) { minP = v; return this; }
        public Builder repetitionPenalty(float v) { repetitionPenalty = v; return this; }
        public Builder presencePenalty(float v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(float v) { frequencyPenalty = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder stopStrings(List<String> v) { stopStrings = v; return this; }
        public Builder stopTokenIds(int... v) { stopTokenIds = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder logprobs(int v) { logprobs = v; return this; }
        public Builder n(int v) { n = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(maxNewTokens, temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, seed, stopStrings, stopTokenIds, ignoreEos, logprobs, n);
        }
    }
}
