package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One test per parameter: a bad value is rejected, and the message names the parameter and the value. */
class SamplingParamsTest {

    private static void rejects(String name, String value, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().startsWith(name + " = "), e.getMessage());
        assertTrue(e.getMessage().contains(value), e.getMessage());
    }

    private static SamplingParams.Builder b() {
        return SamplingParams.builder();
    }

    @Test
    void theDefaultsAreValidAndFollowVllm() {
        SamplingParams p = SamplingParams.defaults();
        assertEquals(1.0f, p.temperature());
        assertEquals(0, p.topK());
        assertEquals(1.0f, p.topP());
        assertEquals(0.0f, p.minP());
        assertEquals(1.0f, p.repetitionPenalty());
        assertFalse(p.isGreedy());
        assertEquals(p, p.toBuilder().build());
    }

    @Test
    void maxNewTokens() {
        rejects("max_new_tokens", "0", () -> b().maxNewTokens(0).build());
    }

    @Test
    void temperature() {
        rejects("temperature", "-0.1", () -> b().temperature(-0.1f).build());
        rejects("temperature", "NaN", () -> b().temperature(Float.NaN).build());
        rejects("temperature", "Infinity", () -> b().temperature(Float.POSITIVE_INFINITY).build());
        assertTrue(b().temperature(0).build().isGreedy());
        assertTrue(b().temperature(SamplingParams.GREEDY_TEMPERATURE / 2).build().isGreedy());
        assertFalse(b().temperature(SamplingParams.GREEDY_TEMPERATURE).build().isGreedy());
    }

    @Test
    void topK() {
        rejects("top_k", "-1", () -> b().topK(-1).build());
        assertTrue(b().topK(1).build().isGreedy());
    }

    @Test
    void topP() {
        rejects("top_p", "0.0", () -> b().topP(0).build());
        rejects("top_p", "1.5", () -> b().topP(1.5f).build());
        rejects("top_p", "NaN", () -> b().topP(Float.NaN).build());
    }

    @Test
    void minP() {
        rejects("min_p", "-0.1", () -> b().minP(-0.1f).build());
        rejects("min_p", "1.1", () -> b().minP(1.1f).build());
    }

    @Test
    void repetitionPenalty() {
        rejects("repetition_penalty", "0.0", () -> b().repetitionPenalty(0).build());
        rejects("repetition_penalty", "NaN", () -> b().repetitionPenalty(Float.NaN).build());
    }

    @Test
    void presencePenalty() {
        rejects("presence_penalty", "2.5", () -> b().presencePenalty(2.5f).build());
        rejects("presence_penalty", "NaN", () -> b().presencePenalty(Float.NaN).build());
    }

    @Test
    void frequencyPenalty() {
        rejects("frequency_penalty", "-3.0", () -> b().frequencyPenalty(-3).build());
    }

    @Test
    void logprobs() {
        rejects("logprobs", "21", () -> b().logprobs(SamplingParams.MAX_LOGPROBS + 1).build());
        rejects("logprobs", "-1", () -> b().logprobs(-1).build());
    }

    @Test
    void stopStrings() {
        rejects("stop", "\"\"", () -> b().stopStrings(List.of("ok", "")).build());
    }

    @Test
    void stopTokenIdsAreCopiedBothWays() {
        int[] ids = {1, 2};
        SamplingParams p = b().stopTokenIds(ids).build();
        ids[0] = 99;
        assertArrayEquals(new int[] {1, 2}, p.stopTokenIds());
        p.stopTokenIds()[0] = 99;
        assertArrayEquals(new int[] {1, 2}, p.stopTokenIds());
    }
}
