package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link SequenceSampler#sample(float[], long[])}: structured output's mask over the logits. */
class MaskedSamplingTest {

    private static long[] allow(int vocab, int... ids) {
        long[] bits = new long[(vocab + 63) / 64];
        for (int id : ids) {
            bits[id >>> 6] |= 1L << id;
        }
        return bits;
    }

    private static float[] logits(int vocab) {
        float[] x = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            x[i] = (float) Math.sin(i * 0.37) * 3;
        }
        x[5] = 50; // by far the most likely token, and masked out below
        return x;
    }

    @Test
    void onlyAllowedTokensAreDrawnWhateverTheTruncation() {
        int vocab = 200;
        long[] allowed = allow(vocab, 3, 64, 130, 199);
        for (SamplingParams p : new SamplingParams[] {
            SamplingParams.builder().temperature(1).build(),
            SamplingParams.builder().temperature(2).topK(5).build(),
            SamplingParams.builder().temperature(0.7f).topP(0.5f).minP(0.1f).build(),
            SamplingParams.builder().temperature(1).repetitionPenalty(1.3f).presencePenalty(-2).frequencyPenalty(-2)
                    .build()}) {
            for (long seed = 0; seed < 200; seed++) {
                SequenceSampler s = new SequenceSampler(p.toBuilder().seed(seed).build(), new int[] {5, 3}, vocab);
                int t = s.sample(logits(vocab), allowed);
                assertTrue(t == 3 || t == 64 || t == 130 || t == 199, p + " drew " + t);
            }
        }
    }

    @Test
    void greedyTakesTheBestAllowedAndLogprobsAreOfTheMaskedDistribution() {
        int vocab = 130;
        float[] x = logits(vocab);
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().greedy().build(), new int[] {1}, vocab);
        int best = x[64] > x[129] ? 64 : 129;
        assertEquals(best, s.sample(x, allow(vocab, 64, 129)));
        TokenLogprob lp = s.logprob(best, 3);
        double other = x[best == 64 ? 129 : 64];
        double expected = x[best] - Math.log(Math.exp(x[best]) + Math.exp(other));
        assertEquals(expected, lp.logprob(), 1e-5);
        assertEquals(Float.NEGATIVE_INFINITY, s.logprob(5, 0).logprob());
        assertEquals(2, lp.top().stream().filter(a -> Float.isFinite(a.logprob())).count());
    }

    @Test
    void aMaskOfTheWrongSizeOrAllowingNothingIsRefused() {
        SequenceSampler s = new SequenceSampler(SamplingParams.builder().temperature(1).seed(1L).build(),
                new int[] {1}, 100);
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[100], new long[1]));
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[100], new long[2]));
    }
}
