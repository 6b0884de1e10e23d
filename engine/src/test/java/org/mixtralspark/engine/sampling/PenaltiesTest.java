package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The penalties, checked on the processed logits directly (through SequenceSampler.penalisedLogits). */
class PenaltiesTest {

    private static final float[] LOGITS = {2, -2, 3, 0, 1.5f, -1};
    private static final int[] PROMPT = {0, 1, 1};

    /** A sampler for PROMPT that has generated 1 once and 2 three times. */
    private static SequenceSampler afterHistory(SamplingParams params) {
        SequenceSampler s = new SequenceSampler(params, PROMPT, LOGITS.length);
        for (int t : new int[] {2, 1, 2, 2}) {
            s.accept(t);
        }
        return s;
    }

    private static SamplingParams.Builder base() {
        return SamplingParams.builder().seed(1L);
    }

    @Test
    void noPenaltiesLeaveTheLogitsAlone() {
        assertArrayEquals(LOGITS, afterHistory(base().build()).penalisedLogits(LOGITS));
    }

    @Test
    void repetitionDividesPositiveAndMultipliesNegativeLogitsOfPromptAndGeneratedTokens() {
        float[] out = afterHistory(base().repetitionPenalty(2).build()).penalisedLogits(LOGITS);
        // 0: prompt only, 2 > 0 -> 1;  1: prompt and output, -2 -> -4;  2: output only, 3 -> 1.5;  3..5 unseen
        assertArrayEquals(new float[] {1, -4, 1.5f, 0, 1.5f, -1}, out);
    }

    @Test
    void repetitionLeavesAZeroLogitAtZero() {
        SequenceSampler s = new SequenceSampler(base().repetitionPenalty(1.5f).build(), new int[] {3}, 6);
        assertEquals(0.0f, s.penalisedLogits(LOGITS)[3]);
    }

    @Test
    void repetitionBelowOneRewardsSeenTokens() {
        float[] out = afterHistory(base().repetitionPenalty(0.5f).build()).penalisedLogits(LOGITS);
        assertArrayEquals(new float[] {4, -1, 6, 0, 1.5f, -1}, out);
    }

    @Test
    void presenceSubtractsOnceFromGeneratedTokensOnly() {
        float[] out = afterHistory(base().presencePenalty(0.5f).build()).penalisedLogits(LOGITS);
        // token 0 is only in the prompt: untouched; 1 and 2 were generated (1 once, 2 three times): -0.5 each
        assertArrayEquals(new float[] {2, -2.5f, 2.5f, 0, 1.5f, -1}, out);
    }

    @Test
    void frequencySubtractsPerOccurrenceFromGeneratedTokensOnly() {
        float[] out = afterHistory(base().frequencyPenalty(0.25f).build()).penalisedLogits(LOGITS);
        assertArrayEquals(new float[] {2, -2.25f, 2.25f, 0, 1.5f, -1}, out);
    }

    @Test
    void negativePresenceAndFrequencyEncourageRepetition() {
        float[] out = afterHistory(base().presencePenalty(-1).frequencyPenalty(-0.5f).build()).penalisedLogits(LOGITS);
        assertArrayEquals(new float[] {2, -0.5f, 5.5f, 0, 1.5f, -1}, out);
    }

    @Test
    void allThreeApplyInVllmOrderRepetitionThenFrequencyThenPresence() {
        SamplingParams p = base().repetitionPenalty(2).presencePenalty(0.5f).frequencyPenalty(0.25f).build();
        float[] out = afterHistory(p).penalisedLogits(LOGITS);
        // 1: -2 * 2 - 0.25 * 1 - 0.5 = -4.75;  2: 3 / 2 - 0.25 * 3 - 0.5 = 0.25 (penalties after the division)
        assertArrayEquals(new float[] {1, -4.75f, 0.25f, 0, 1.5f, -1}, out);
    }

    @Test
    void aTokenAcceptedLaterIsPenalisedFromThenOn() {
        SequenceSampler s = new SequenceSampler(base().presencePenalty(1).build(), new int[0], 6);
        assertEquals(1.5f, s.penalisedLogits(LOGITS)[4]);
        s.accept(4);
        assertEquals(0.5f, s.penalisedLogits(LOGITS)[4]);
    }

    @Test
    void penaltiesChangeWhatGreedyPicks() {
        // without penalties token 2 (logit 3) wins; generated three times with frequency 1 it drops to 0
        SequenceSampler s = afterHistory(base().greedy().frequencyPenalty(1).build());
        assertEquals(0, s.sample(LOGITS));
    }

    @Test
    void theCallersLogitsAreNeverWritten() {
        SamplingParams p = base().temperature(0.7f).repetitionPenalty(2).presencePenalty(0.5f).frequencyPenalty(0.25f)
                .topK(3).build();
        SequenceSampler s = afterHistory(p);
        float[] logits = LOGITS.clone();
        s.penalisedLogits(logits);
        s.sample(logits);
        s.logprob(0, 3);
        assertArrayEquals(LOGITS, logits);
    }
}
