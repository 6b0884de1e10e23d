package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.sampling.TokenLogprob;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SequenceSamplerTest {

    private static final int[] NO_PROMPT = new int[0];

    /** A known distribution over 8 tokens, deliberately not in id order. Sorted: 5, 2, 0, 7, 3, 1, 4, 6. */
    private static final double[] PROBS = {0.10, 0.02, 0.30, 0.05, 0.02, 0.40, 0.01, 0.10};

    private static float[] logitsOf(double[] probs) {
        float[] x = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            x[i] = (float) Math.log(probs[i]);
        }
        return x;
    }

    /** Counts of {@code draws} tokens, one per step (each sampled token is accepted, so every draw has a new coin). */
    private static int[] histogram(SamplingParams params, float[] logits, int draws) {
        SequenceSampler s = new SequenceSampler(params, NO_PROMPT, logits.length);
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            int t = s.sample(logits);
            counts[t]++;
            s.accept(t);
        }
        return counts;
    }

    private static Set<Integer> support(int[] counts) {
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0) {
                s.add(i);
            }
        }
        return s;
    }

    /** Pearson's chi-square statistic of observed counts against expected probabilities (over tokens with p > 0). */
    private static double chiSquare(int[] counts, double[] expected) {
        int n = Arrays.stream(counts).sum();
        double chi = 0;
        for (int i = 0; i < counts.length; i++) {
            if (expected[i] > 0) {
                double e = n * expected[i];
                chi += (counts[i] - e) * (counts[i] - e) / e;
            } else {
                assertEquals(0, counts[i], "token " + i + " has probability 0 but was drawn");
            }
        }
        return chi;
    }

    private static float[] randomLogits(Random random, int vocab) {
        float[] x = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            x[i] = (float) (random.nextGaussian() * 3);
        }
        return x;
    }

    // ---------------------------------------------------------------- greedy

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().greedy().build(), NO_PROMPT, 5);
        assertEquals(1, s.sample(new float[] {1, 3, 3, 2, 3}));
        assertEquals(0, s.sample(new float[] {-1, -1, -1, -1, -1}));
        assertEquals(4, s.sample(new float[] {Float.NEGATIVE_INFINITY, 0, 0, 0, 0.5f}));
    }

    @Test
    void topKOneEqualsGreedyForManyRandomLogitVectors() {
        Random random = new Random(5);
        SequenceSampler greedy = new SequenceSampler(SamplingParams.builder().greedy().build(), NO_PROMPT, 1000);
        SequenceSampler topK1 = new SequenceSampler(
                SamplingParams.builder().temperature(1.3f).topK(1).seed(3L).build(), NO_PROMPT, 1000);
        for (int trial = 0; trial < 300; trial++) {
            float[] x = randomLogits(random, 1000);
            if (trial % 2 == 0) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = Math.round(x[i]); // coarse logits: ties at the top
                }
            }
            int expected = Selection.argmax(x);
            assertEquals(expected, greedy.sample(x));
            assertEquals(expected, topK1.sample(x));
            // and the truncation step itself, when top-k 1 is combined with sampling
            float[] w = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                w[i] = (float) Math.exp(x[i] - x[expected]);
            }
            int[] kept = Truncation.keep(x, w, 1.0, 1, 1.0f, 0.0f);
            assertArrayEquals(new int[] {expected}, kept);
            topK1.accept(expected);
        }
    }

    @Test
    void aTinyTemperatureIsGreedy() {
        SamplingParams p = SamplingParams.builder().temperature(1e-7f).seed(1L).build();
        assertTrue(p.isGreedy());
        float[] x = {0, 1e3f, 999.9999f, -5};
        SequenceSampler s = new SequenceSampler(p, NO_PROMPT, x.length);
        for (int i = 0; i < 100; i++) {
            assertEquals(1, s.sample(x));
            s.accept(1);
        }
    }

    // ---------------------------------------------------------------- truncation

    @Test
    void topPNeverSamplesOutsideItsNucleus() {
        float[] x = logitsOf(PROBS);
        // 0.40 < 0.65 <= 0.40 + 0.30: the nucleus is {5, 2}
        int[] counts = histogram(SamplingParams.builder().topP(0.65f).seed(11L).build(), x, 10_000);
        assertEquals(Set.of(5, 2), support(counts));
        double[] expected = new double[8];
        expected[5] = 0.4 / 0.7;
        expected[2] = 0.3 / 0.7;
        assertTrue(chiSquare(counts, expected) < 15, "renormalised over the nucleus");

        // 0.7 < 0.75 <= 0.8: adds one of the two 0.10 tokens, the lower id (0) on the tie with 7
        counts = histogram(SamplingParams.builder().topP(0.75f).seed(12L).build(), x, 10_000);
        assertEquals(Set.of(5, 2, 0), support(counts));
    }

    @Test
    void topPOfOneKeepsEveryToken() {
        float[] x = logitsOf(PROBS);
        int[] counts = histogram(SamplingParams.builder().topP(1.0f).seed(13L).build(), x, 20_000);
        assertEquals(8, support(counts).size());
        assertTrue(chiSquare(counts, PROBS) < 30);
    }

    @Test
    void topPKeepsAtLeastTheTopToken() {
        float[] x = logitsOf(PROBS);
        int[] counts = histogram(SamplingParams.builder().topP(1e-6f).seed(14L).build(), x, 500);
        assertEquals(Set.of(5), support(counts));
    }

    @Test
    void topPOnALargeVocabularyEqualsTheNucleusOfAFullSort() {
        // the llama2.c cutoff skips most of the vocabulary before sorting; it must not change the kept set
        Random random = new Random(21);
        for (int trial = 0; trial < 20; trial++) {
            int vocab = 32000;
            float[] z = randomLogits(random, vocab);
            float max = z[Selection.argmax(z)];
            float[] w = new float[vocab];
            double mass = 0;
            for (int i = 0; i < vocab; i++) {
                w[i] = (float) Math.exp(z[i] - max);
                mass += w[i];
            }
            float p = new float[] {0.1f, 0.5f, 0.9f, 0.95f, 0.999f}[trial % 5];
            Integer[] order = IntStream.range(0, vocab).boxed().toArray(Integer[]::new);
            Arrays.sort(order, (a, b) -> z[a] != z[b] ? Float.compare(z[b], z[a]) : Integer.compare(a, b));
            double cumulative = 0;
            int size = 0;
            while (cumulative < p * mass) {
                cumulative += w[order[size++]];
            }
            int[] expected = Arrays.stream(order, 0, size).mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, Truncation.keep(z, w, mass, 0, p, 0.0f), "top_p " + p);
        }
    }

    @Test
    void topKNeverSamplesOutsideItsK() {
        float[] x = logitsOf(PROBS);
        int[] counts = histogram(SamplingParams.builder().topK(3).seed(15L).build(), x, 10_000);
        assertEquals(Set.of(5, 2, 0), support(counts), "the 3 largest; 0 beats 7 on the tie");
        double[] expected = new double[8];
        expected[5] = 0.4 / 0.8;
        expected[2] = 0.3 / 0.8;
        expected[0] = 0.1 / 0.8;
        assertTrue(chiSquare(counts, expected) < 20);
    }

    @Test
    void topKOnALargeVocabularyIsTheKLargest() {
        Random random = new Random(22);
        float[] z = randomLogits(random, 32000);
        int[] kept = Truncation.topK(z, 40);
        float[] sorted = z.clone();
        Arrays.sort(sorted);
        float fortieth = sorted[sorted.length - 40];
        assertEquals(40, kept.length);
        for (int i = 0; i < kept.length; i++) {
            assertTrue(z[kept[i]] >= fortieth);
            if (i > 0) {
                assertTrue(z[kept[i - 1]] >= z[kept[i]], "largest first");
            }
        }
    }

    @Test
    void topPAppliesToTheTopKRenormalisedDistribution() {
        float[] x = logitsOf(PROBS);
        // top-k 2 leaves {5: 0.4/0.7, 2: 0.3/0.7}; top-p 0.55 of that is {5} alone (0.571 >= 0.55),
        // while top-p 0.55 of the full distribution would keep {5, 2}
        int[] counts = histogram(SamplingParams.builder().topK(2).topP(0.55f).seed(16L).build(), x, 2_000);
        assertEquals(Set.of(5), support(counts));
    }

    @Test
    void minPDropsTokensBelowItsFractionOfTheTopProbability() {
        float[] x = logitsOf(PROBS);
        // threshold 0.2 * 0.4 = 0.08: keeps 0.40, 0.30, 0.10, 0.10; drops 0.05 and below
        int[] counts = histogram(SamplingParams.builder().minP(0.2f).seed(17L).build(), x, 10_000);
        assertEquals(Set.of(5, 2, 0, 7), support(counts));
        double[] expected = new double[8];
        expected[5] = 0.4 / 0.9;
        expected[2] = 0.3 / 0.9;
        expected[0] = 0.1 / 0.9;
        expected[7] = 0.1 / 0.9;
        assertTrue(chiSquare(counts, expected) < 20);
        // threshold 0.8 * 0.4 = 0.32: only the top token
        counts = histogram(SamplingParams.builder().minP(0.8f).seed(18L).build(), x, 1_000);
        assertEquals(Set.of(5), support(counts));
    }

    @Test
    void minPIsRelativeToTheTopProbabilityAtThisTemperature() {
        // at T = 2 the probabilities flatten to sqrt(p) / sum: the ratio to the top is sqrt(p / 0.4), so 0.05 has
        // ratio 0.354 and passes min_p 0.3, where at T = 1 (ratio 0.125) it would not
        float[] x = logitsOf(PROBS);
        int[] counts = histogram(SamplingParams.builder().temperature(2).minP(0.3f).seed(19L).build(), x, 10_000);
        assertEquals(Set.of(5, 2, 0, 7, 3), support(counts));
    }

    // ---------------------------------------------------------------- temperature

    @Test
    void temperatureGivesSoftmaxOfLogitsOverT() {
        float[] x = {0, 1, 2, 0.5f, -1};
        for (float t : new float[] {0.5f, 1.0f, 2.0f}) {
            double[] expected = new double[x.length];
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                expected[i] = Math.exp(x[i] / t);
                sum += expected[i];
            }
            for (int i = 0; i < x.length; i++) {
                expected[i] /= sum;
            }
            int[] counts = histogram(SamplingParams.builder().temperature(t).seed(100L + (long) (t * 10)).build(), x,
                    20_000);
            // 4 degrees of freedom: P(chi2 > 30) ~ 5e-6; a wrong temperature gives hundreds
            double chi = chiSquare(counts, expected);
            assertTrue(chi < 30, "T = " + t + ": chi-square " + chi);
        }
    }

    @Test
    void aWrongTemperatureWouldBeDetected() {
        // the check above has power: draws at T = 2 against the T = 1 distribution fail it by far
        float[] x = {0, 1, 2, 0.5f, -1};
        double[] atOne = new double[x.length];
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            atOne[i] = Math.exp(x[i]);
            sum += atOne[i];
        }
        for (int i = 0; i < x.length; i++) {
            atOne[i] /= sum;
        }
        int[] counts = histogram(SamplingParams.builder().temperature(2).seed(7L).build(), x, 20_000);
        assertTrue(chiSquare(counts, atOne) > 300);
    }

    // ---------------------------------------------------------------- seeds and steps

    private static int[] generate(SamplingParams params, int steps, long logitsSeed) {
        Random random = new Random(logitsSeed);
        SequenceSampler s = new SequenceSampler(params, new int[] {1, 2, 3}, 50);
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = s.sample(randomLogits(random, 50));
            s.accept(out[i]);
        }
        return out;
    }

    @Test
    void theSameSeedGivesTheSameTokensAndDifferentSeedsDiffer() {
        SamplingParams p = SamplingParams.builder().temperature(1.5f).topP(0.95f).repetitionPenalty(1.1f).seed(123L)
                .build();
        int[] a = generate(p, 100, 9);
        assertArrayEquals(a, generate(p, 100, 9));
        assertArrayEquals(a, generate(p.toBuilder().seed(123L).build(), 100, 9));
        int[] b = generate(p.toBuilder().seed(124L).build(), 100, 9);
        assertNotEquals(Arrays.toString(a), Arrays.toString(b));
    }

    @Test
    void aNullSeedPicksARandomOneAndReportsIt() {
        SamplingParams p = SamplingParams.builder().build();
        SequenceSampler a = new SequenceSampler(p, NO_PROMPT, 10);
        SequenceSampler b = new SequenceSampler(p, NO_PROMPT, 10);
        assertNotEquals(a.seed(), b.seed());
        // the reported seed reproduces the run
        int[] tokens = generate(p.toBuilder().seed(a.seed()).build(), 30, 4);
        assertArrayEquals(tokens, generate(p.toBuilder().seed(a.seed()).build(), 30, 4));
        assertEquals(42L, new SequenceSampler(p.toBuilder().seed(42L).build(), NO_PROMPT, 10).seed());
    }

    @Test
    void aDrawDependsOnlyOnSeedStepAndLogits() {
        SamplingParams p = SamplingParams.builder().temperature(1.0f).seed(77L).build();
        float[] flat = new float[1000]; // uniform: the token is a direct image of the coin
        Random random = new Random(3);

        // A: five tokens accepted, never sampled before; B: different tokens, sampled many times along the way
        SequenceSampler a = new SequenceSampler(p, NO_PROMPT, flat.length);
        SequenceSampler b = new SequenceSampler(p, new int[] {9, 9, 9}, flat.length);
        for (int i = 0; i < 5; i++) {
            a.accept(i);
            for (int j = 0; j < 3; j++) {
                b.sample(randomLogits(random, flat.length));
            }
            b.accept(999 - i);
        }
        int atStep5 = a.sample(flat);
        assertEquals(atStep5, b.sample(flat), "same seed, same step, same logits: same token");
        assertEquals(atStep5, b.sample(flat), "re-sampling a step does not advance the stream");
        assertEquals(atStep5, a.sample(flat));

        // and the coin is the one specified: SplittableRandom(stepSeed(seed, 5)).nextDouble()
        double coin = SequenceSampler.coin(77L, 5);
        assertEquals(coin, new java.util.SplittableRandom(Seeds.stepSeed(77L, 5)).nextDouble());
        assertEquals((int) (coin * 1000), atStep5, "uniform over 1000: token = floor(coin * 1000)");

        // consecutive steps draw different coins
        Set<Double> coins = new HashSet<>();
        for (int step = 0; step < 1000; step++) {
            coins.add(SequenceSampler.coin(77L, step));
        }
        assertEquals(1000, coins.size());
    }

    @Test
    void theCoinIsAnInput() {
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().seed(1L).build(), NO_PROMPT, 8);
        float[] x = logitsOf(PROBS);
        // inverse CDF in id order over {0.10, 0.02, 0.30, 0.05, 0.02, 0.40, 0.01, 0.10}
        assertEquals(0, s.sample(x, 0.0));
        assertEquals(0, s.sample(x, 0.099));
        assertEquals(1, s.sample(x, 0.11));
        assertEquals(2, s.sample(x, 0.2));
        assertEquals(5, s.sample(x, 0.6));
        assertEquals(7, s.sample(x, 0.95));
        assertEquals(7, s.sample(x, Math.nextDown(1.0)));
        assertThrows(IllegalArgumentException.class, () -> s.sample(x, 1.0));
        assertThrows(IllegalArgumentException.class, () -> s.sample(x, Double.NaN));
    }

    @Test
    void tokensOfProbabilityZeroAreNeverDrawn() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[] x = {ninf, 0, ninf, 0, ninf};
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().seed(1L).build(), NO_PROMPT, x.length);
        assertEquals(1, s.sample(x, 0.0));
        assertEquals(3, s.sample(x, 0.5));
        assertEquals(3, s.sample(x, Math.nextDown(1.0)));
    }

    // ---------------------------------------------------------------- logprobs

    private static double[] logSoftmax(float[] x, float t) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v / t);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v / t - max);
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] / t - max - Math.log(sum);
        }
        return out;
    }

    @Test
    void logprobsAreTheLogSoftmaxOfThePenalisedScaledLogitsBeforeTruncation() {
        Random random = new Random(31);
        SamplingParams p = SamplingParams.builder().temperature(0.7f).topK(5).topP(0.9f).repetitionPenalty(1.3f)
                .presencePenalty(0.4f).logprobs(5).seed(8L).build();
        SequenceSampler s = new SequenceSampler(p, new int[] {1, 2, 3}, 100);
        for (int step = 0; step < 20; step++) {
            float[] x = randomLogits(random, 100);
            double[] expected = logSoftmax(s.penalisedLogits(x), 0.7f);
            int token = s.sample(x);
            TokenLogprob lp = s.logprob(token, 5);
            assertEquals(token, lp.tokenId());
            assertEquals(expected[token], lp.logprob(), 1e-5);
            assertEquals(5, lp.top().size());
            double mass = 0;
            for (int i = 0; i < 5; i++) {
                TokenLogprob.Alternative alt = lp.top().get(i);
                assertEquals(expected[alt.tokenId()], alt.logprob(), 1e-5);
                if (i > 0) {
                    assertTrue(lp.top().get(i - 1).logprob() >= alt.logprob(), "most likely first");
                }
                mass += Math.exp(alt.logprob());
            }
            assertTrue(mass <= 1 + 1e-6);
            assertEquals(Selection.argmax(s.penalisedLogits(x)), lp.top().get(0).tokenId());
            // a token that top-k removed still has its honest, finite log-probability
            int worst = IntStream.range(0, 100).boxed().min((a, b) -> Double.compare(expected[a], expected[b]))
                    .orElseThrow();
            assertEquals(expected[worst], s.logprob(worst, 0).logprob(), 1e-4);
            s.accept(token);
        }
    }

    @Test
    void logprobsOverTheWholeVocabularySumToOne() {
        float[] x = randomLogits(new Random(32), 32000);
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().temperature(1.7f).seed(2L).build(), NO_PROMPT,
                x.length);
        TokenLogprob lp = s.logprob(s.sample(x), 32000);
        double mass = 0;
        for (TokenLogprob.Alternative a : lp.top()) {
            mass += Math.exp(a.logprob());
        }
        assertEquals(1.0, mass, 1e-4);
    }

    @Test
    void greedyLogprobsUseTemperatureOne() {
        float[] x = {0, 1, 2, 0.5f, -1};
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().greedy().build(), NO_PROMPT, x.length);
        int token = s.sample(x);
        assertEquals(2, token);
        assertEquals(logSoftmax(x, 1)[2], s.logprob(token, 2).logprob(), 1e-6);
        assertEquals(1, s.logprob(token, 2).top().get(1).tokenId());
    }

    @Test
    void logprobNeedsASampledDistribution() {
        SequenceSampler s = new SequenceSampler(SamplingParams.defaults(), NO_PROMPT, 4);
        assertThrows(IllegalStateException.class, () -> s.logprob(0, 1));
        s.sample(new float[] {1, 2, 3, 4});
        assertThrows(IllegalArgumentException.class, () -> s.logprob(4, 1));
        assertThrows(IllegalArgumentException.class, () -> s.logprob(0, -1));
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void badLogitsAreRejectedWithWhatIsWrong() {
        SequenceSampler s = new SequenceSampler(SamplingParams.defaults(), NO_PROMPT, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.sample(new float[4]));
        assertTrue(e.getMessage().contains("3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.sample(new float[] {0, Float.NaN, 1}));
        assertTrue(e.getMessage().contains("logits[1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[] {0, Float.POSITIVE_INFINITY, 1}));
        float ninf = Float.NEGATIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[] {ninf, ninf, ninf}));
    }

    @Test
    void badTokensAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> new SequenceSampler(SamplingParams.defaults(), new int[] {0, 3}, 3));
        assertThrows(IllegalArgumentException.class,
                () -> new SequenceSampler(SamplingParams.defaults(), NO_PROMPT, 0));
        SequenceSampler s = new SequenceSampler(SamplingParams.defaults(), NO_PROMPT, 3);
        assertThrows(IllegalArgumentException.class, () -> s.accept(-1));
        assertThrows(IllegalArgumentException.class, () -> s.accept(3));
        assertEquals(0, s.generatedCount());
    }
}
