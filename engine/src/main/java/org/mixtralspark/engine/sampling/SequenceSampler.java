package org.mixtralspark.engine.sampling;

import org.mixtralspark.engine.sampling.TokenLogprob;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the next token of one request from the model's logits. One instance per request; it holds the request's
 * seed, its token history (for the penalties) and two vocabulary-sized float arrays of scratch (256 KB at a vocabulary
 * of 32000; one when greedy), kept so that {@link #logprob(int, int)} can read the last distribution. Not
 * thread-safe: the engine calls it from one thread at a time.
 *
 * <p>{@link #sample(float[])} does, in vLLM's order ({@code vllm/v1/sample/sampler.py}, with V0's truncation order):
 * <ol>
 *   <li>copy the logits into this sampler's scratch array (the caller's array is never written);</li>
 *   <li>repetition penalty over prompt and generated tokens, then frequency and presence penalties over generated
 *       tokens ({@link Penalties});</li>
 *   <li>if greedy ({@link SamplingParams#isGreedy()}: temperature below {@link SamplingParams#GREEDY_TEMPERATURE} or
 *       top-k 1): argmax of the penalised logits, lowest id winning ties; no randomness is used;</li>
 *   <li>else temperature: {@code z = x / T} (fp32, as vLLM divides);</li>
 *   <li>softmax, max-subtracted, kept unnormalised: {@code w[i] = exp(z[i] - max z)} (exp in double, stored as fp32;
 *       the mass {@code sum(w)} is summed in double). With top-k on, the k largest {@code z} are selected first and
 *       {@code w} is computed for them only: the same result, without 32000 calls to exp;</li>
 *   <li>top-k, then top-p (of the top-k renormalised distribution), then min-p ({@link Truncation});</li>
 *   <li>renormalise and draw with this step's coin ({@link Categorical}).</li>
 * </ol>
 *
 * <p>Randomness: the draw for the i-th generated token (i = number of {@link #accept(int) accepted} tokens so far)
 * uses a fresh {@link SplittableRandom} seeded with {@link Seeds#stepSeed(long, long) stepSeed(seed, i)}, and takes one
 * {@code nextDouble()} from it. So a draw depends only on (seed, i, logits): the same request gives the same tokens
 * whatever batch it runs in, and re-sampling the same step (without accepting) gives the same token.
 *
 * <p>Log-probabilities ({@link #logprob(int, int)}) are those of the last {@code sample} call's distribution before
 * truncation: {@code log_softmax(z)} with {@code z} the penalised logits divided by the temperature (by 1 when the
 * temperature is below {@link SamplingParams#GREEDY_TEMPERATURE}). That is the distribution the sampler truncates,
 * so a token that top-k or top-p removed still gets its finite log-probability, as {@link
 * org.mixtralspark.engine.sampling.TokenLogprob} specifies. (vLLM V1 differs by mode: its default "raw_logprobs" is
 * taken before penalties and temperature, its "processed_logprobs" after its logits processing.)
 */
public final class SequenceSampler {

    private final SamplingParams params;
    private final int vocabSize;
    private final long seed;
    private final Penalties penalties;
    private final boolean greedy;
    private final float temperature; // the divisor of the logits: the params' temperature, or 1 when greedy by it

    private final float[] z; // (vocab,) penalised, temperature-scaled logits of the last sample call
    private final float[] w; // (vocab,) exp(z - max z); null when greedy
    private boolean haveLogits;
    private double logNormalizer = Double.NaN; // log(sum(exp(z))) of the last sample call, computed on demand
    private int generated;

    /**
     * @param params    the request's sampling parameters; a null seed means a random one ({@link #seed()} tells it)
     * @param promptIds the prompt's token ids (the repetition penalty counts them as seen)
     * @param vocabSize the length of every logits vector that will be passed in
     */
    public SequenceSampler(SamplingParams params, int[] promptIds, int vocabSize) {
        if (params == null) {
            throw new IllegalArgumentException("params = null");
        }
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + ": must be >= 1");
        }
        if (promptIds == null) {
            throw new IllegalArgumentException("promptIds = null: pass an empty array for no prompt");
        }
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] < 0 || promptIds[i] >= vocabSize) {
                throw new IllegalArgumentException("promptIds[" + i + "] = " + promptIds[i]
                        + ": not a token id of a vocabulary of " + vocabSize);
            }
        }
        this.params = params;
        this.vocabSize = vocabSize;
        this.seed = params.seed() != null ? params.seed() : ThreadLocalRandom.current().nextLong();
        this.penalties = new Penalties(params, promptIds, vocabSize);
        this.greedy = params.isGreedy();
        // vLLM also replaces the temperature of greedy requests by 1, which makes their logprobs unscaled
        this.temperature = params.temperature() < SamplingParams.GREEDY_TEMPERATURE ? 1.0f : params.temperature();
        this.z = new float[vocabSize];
        this.w = greedy ? null : new float[vocabSize];
    }

    /** The seed of this request's random stream: the params' seed, or the random one chosen when it was null. */
    public long seed() {
        return seed;
    }

    /** How many tokens were {@link #accept(int) accepted}: the step of the next draw. */
    public int generatedCount() {
        return generated;
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * The next token (see the class comment for the steps). Does not record it: call {@link #accept(int)} with the
     * token that is kept. Calling it twice for the same step with the same logits gives the same token.
     *
     * @param logits (vocab,) the model's logits for the next position; read, never written
     * @throws IllegalArgumentException if the length is not the vocabulary size, or a logit is NaN or +Infinity, or
     *                                  every logit is -Infinity
     */
    public int sample(float[] logits) {
        return sample(logits, null);
    }

    /**
     * {@link #sample(float[])} among the tokens of {@code allowed} only (structured output): a bitset over token ids,
     * bit {@code id % 64} of word {@code id / 64}; null allows every token. The others' logits become -Infinity before
     * the penalties, temperature and truncation, so those (and {@link #logprob}) see the constrained distribution.
     *
     * @throws IllegalArgumentException as {@link #sample(float[])}, and when {@code allowed} allows no token
     */
    public int sample(float[] logits, long[] allowed) {
        return greedy ? sample(logits, allowed, 0.0) : sample(logits, allowed, coin(seed, generated));
    }

    /** The coin of step {@code step}: one {@code nextDouble()} of a SplittableRandom seeded per step. */
    static double coin(long seed, long step) {
        return new SplittableRandom(Seeds.stepSeed(seed, step)).nextDouble();
    }

    /** {@link #sample(float[])} with the coin given: the randomness is an input, so that tests can fix it. */
    int sample(float[] logits, double coin) {
        return sample(logits, null, coin);
    }

    int sample(float[] logits, long[] allowed, double coin) {
        if (!(coin >= 0.0 && coin < 1.0)) {
            throw new IllegalArgumentException("coin = " + coin + ": must be in [0, 1)");
        }
        float[] x = penalisedInto(logits, allowed, z);
        int best = checkedArgmax(x);
        haveLogits = true;
        logNormalizer = Double.NaN;
        if (temperature != 1.0f) {
            for (int i = 0; i < vocabSize; i++) {
                z[i] = x[i] / temperature; // x is z: scaled in place
            }
        }
        if (greedy) {
            // argmax of the unscaled logits: dividing by T could round two distinct logits to one value
            return best;
        }
        // dividing by T > 0 preserves order (weakly), so `best` is still a maximum of z
        double max = z[best];
        int topK = params.topK();
        if (topK > 0 && topK < vocabSize) {
            // top-k selects on z, so exp is needed for the k survivors only (the whole-vocabulary exp is most of the
            // cost of a draw); the other entries of w are stale and never read
            int[] kept = Truncation.topK(z, topK);
            for (int id : kept) {
                w[id] = (float) Math.exp(z[id] - max);
            }
            return Categorical.draw(w, Truncation.afterTopK(w, kept, params.topP(), params.minP()), coin);
        }
        double mass = 0;
        for (int i = 0; i < vocabSize; i++) {
            float wi = (float) Math.exp(z[i] - max);
            w[i] = wi;
            mass += wi;
        }
        int[] kept = Truncation.keep(z, w, mass, 0, params.topP(), params.minP());
        return Categorical.draw(w, kept, coin);
    }

    /**
     * Records a generated token: it now counts for the penalties, and the next draw uses the next step's coin.
     *
     * @throws IllegalArgumentException if {@code token} is not in [0, vocabSize)
     */
    public void accept(int token) {
        checkToken(token);
        penalties.accept(token);
        generated++;
    }

    /**
     * The log-probability of {@code token} and the {@code topN} most likely tokens (ties: lower id first) under the
     * distribution of the last {@link #sample(float[])} call, before truncation: {@code z[t] - log(sum_j exp(z[j]))},
     * computed in double with the max subtracted. {@code z} is described in the class comment.
     *
     * @throws IllegalStateException    if {@code sample} was never called
     * @throws IllegalArgumentException if the token is out of range or topN is negative
     */
    public TokenLogprob logprob(int token, int topN) {
        if (!haveLogits) {
            throw new IllegalStateException("logprob(...) needs a distribution: call sample(logits) first");
        }
        checkToken(token);
        if (topN < 0) {
            throw new IllegalArgumentException("topN = " + topN + ": must be >= 0");
        }
        double lse = logNormalizer();
        List<TokenLogprob.Alternative> top = new ArrayList<>(Math.min(topN, vocabSize));
        for (int id : Selection.largest(z, topN)) {
            top.add(new TokenLogprob.Alternative(id, (float) (z[id] - lse)));
        }
        return new TokenLogprob(token, (float) (z[token] - lse), top);
    }

    /**
     * The logits after the penalties, before temperature, as a new array. For tests: the penalties are checked
     * directly, not through the statistics of draws.
     */
    float[] penalisedLogits(float[] logits) {
        return penalisedInto(logits, null, new float[vocabSize]);
    }

    private float[] penalisedInto(float[] logits, long[] allowed, float[] out) {
        if (logits == null || logits.length != vocabSize) {
            throw new IllegalArgumentException("logits has length " + (logits == null ? "null" : logits.length)
                    + ", expected the vocabulary size " + vocabSize);
        }
        System.arraycopy(logits, 0, out, 0, vocabSize);
        if (allowed != null) {
            mask(out, allowed);
        }
        penalties.apply(out);
        return out;
    }

    /** Sets the logit of every token outside {@code allowed} to -Infinity (penalties keep it there). */
    private void mask(float[] x, long[] allowed) {
        if (allowed.length != (vocabSize + 63) >>> 6) {
            throw new IllegalArgumentException("allowed has " + allowed.length + " words, expected "
                    + ((vocabSize + 63) >>> 6) + " for a vocabulary of " + vocabSize);
        }
        for (int w = 0; w < allowed.length; w++) {
            long word = allowed[w];
            if (word == -1L) {
                continue;
            }
            int base = w << 6;
            int end = Math.min(64, vocabSize - base);
            for (int b = 0; b < end; b++) {
                if ((word & (1L << b)) == 0) {
                    x[base + b] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /** The argmax (lowest id on ties), rejecting NaN and +Infinity, which no softmax can take. */
    private int checkedArgmax(float[] x) {
        int best = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logits[" + i + "] = " + v
                        + " (after penalties): the model produced a non-finite logit");
            }
            if (v > max) {
                max = v;
                best = i;
            }
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("every logit is -Infinity: no token can be sampled");
        }
        return best;
    }

    private double logNormalizer() {
        if (Double.isNaN(logNormalizer)) {
            double max = z[Selection.argmax(z)];
            double sum = 0;
            for (float v : z) {
                sum += Math.exp(v - max);
            }
            logNormalizer = max + Math.log(sum);
        }
        return logNormalizer;
    }

    private void checkToken(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token = " + token + ": not in [0, " + vocabSize + ")");
        }
    }
}
