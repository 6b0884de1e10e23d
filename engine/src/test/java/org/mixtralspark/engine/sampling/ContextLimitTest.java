package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The context-length rule on both sides of its boundary, and StopConditions applying it token by token. */
class ContextLimitTest {

    @Test
    void aPromptRunsWhileItLeavesRoomForOneToken() {
        assertNull(ContextLimit.promptError(1, 2));
        assertNull(ContextLimit.promptError(63, 64));
        assertEquals("the prompt has 64 tokens, but the context length is 64 (prompt + generated tokens): no room for "
                + "a new token; shorten the prompt to at most 63 tokens", ContextLimit.promptError(64, 64));
        assertTrue(ContextLimit.promptError(65, 64).startsWith("the prompt has 65 tokens"));
    }

    @Test
    void theContextIsFullWhenPromptAndGeneratedTokensReachIt() {
        assertFalse(ContextLimit.reached(60, 3, 64));
        assertTrue(ContextLimit.reached(60, 4, 64));
    }

    @Test
    void stopConditionsCutAtTheContextWhateverMaxNewTokensSays() {
        SamplingParams p = SamplingParams.builder().maxNewTokens(50).ignoreEos(true).build();
        StopConditions oneLeft = new StopConditions(p, 2, 63, 64);
        oneLeft.accept(7, "x");
        assertEquals(FinishReason.LENGTH, oneLeft.finishReason());
        StopConditions cut = new StopConditions(p, 2, 60, 64);
        for (int i = 0; i < 3; i++) {
            cut.accept(7, "x");
            assertFalse(cut.finished());
        }
        cut.accept(7, "x");
        assertEquals(FinishReason.LENGTH, cut.finishReason());
        assertEquals(4, cut.generatedCount());
        IllegalArgumentException full = assertThrows(IllegalArgumentException.class,
                () -> new StopConditions(p, 2, 64, 64));
        assertEquals(ContextLimit.promptError(64, 64), full.getMessage());
    }
}
