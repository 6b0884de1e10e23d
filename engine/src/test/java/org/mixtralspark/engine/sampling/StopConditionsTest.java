package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.sampling.FinishReason;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopConditionsTest {

    private static final int EOS = 2;

    private static StopConditions conditions(SamplingParams.Builder params) {
        return new StopConditions(params.build(), EOS, 10, 4096);
    }

    @Test
    void eosStopsAndIsNotPartOfTheText() {
        StopConditions c = conditions(SamplingParams.builder().maxNewTokens(100));
        assertEquals("Hi", c.accept(7, "Hi"));
        assertFalse(c.finished());
        assertNull(c.finishReason());
        assertEquals("", c.accept(EOS, "</s>"));
        assertEquals(FinishReason.STOP, c.finishReason());
        assertEquals(2, c.generatedCount());
    }

    @Test
    void ignoreEosKeepsGoing() {
        StopConditions c = conditions(SamplingParams.builder().maxNewTokens(100).ignoreEos(true));
        assertEquals("</s>", c.accept(EOS, "</s>"));
        assertFalse(c.finished());
    }

    @Test
    void aStopTokenIdStops() {
        StopConditions c = conditions(SamplingParams.builder().stopTokenIds(13, 14));
        assertEquals("a", c.accept(5, "a"));
        assertEquals("", c.accept(14, "\n"));
        assertEquals(FinishReason.STOP, c.finishReason());
    }

    @Test
    void aStopStringStopsAndTheTextEndsBeforeIt() {
        StopConditions c = conditions(SamplingParams.builder().stopStrings(List.of("\n\n")));
        assertEquals("one", c.accept(5, "one\n"));
        assertFalse(c.finished());
        assertEquals("", c.accept(6, "\ntwo"));
        assertEquals(FinishReason.STOP, c.finishReason());
    }

    @Test
    void stoppingOnATokenReleasesHeldTextThatWasNotAStop() {
        StopConditions c = conditions(SamplingParams.builder().stopStrings(List.of("###")));
        assertEquals("a", c.accept(5, "a#"));
        assertEquals("#", c.accept(EOS, "</s>"));
        assertEquals(FinishReason.STOP, c.finishReason());
    }

    @Test
    void maxNewTokensGivesLengthAndReleasesHeldText() {
        StopConditions c = conditions(SamplingParams.builder().maxNewTokens(2).stopStrings(List.of("###")));
        assertEquals("x", c.accept(5, "x"));
        assertEquals("y#", c.accept(6, "y#"));
        assertEquals(FinishReason.LENGTH, c.finishReason());
    }

    @Test
    void theContextLengthGivesLength() {
        StopConditions c = new StopConditions(SamplingParams.builder().maxNewTokens(100).build(), EOS, 10, 13);
        c.accept(5, "a");
        c.accept(5, "a");
        assertFalse(c.finished());
        c.accept(5, "a");
        assertEquals(FinishReason.LENGTH, c.finishReason(), "10 prompt + 3 generated fill a context of 13");
    }

    @Test
    void stopWinsOverLengthOnTheSameToken() {
        StopConditions c = conditions(SamplingParams.builder().maxNewTokens(1));
        c.accept(EOS, "");
        assertEquals(FinishReason.STOP, c.finishReason());

        c = conditions(SamplingParams.builder().maxNewTokens(1).stopStrings(List.of("end")));
        assertEquals("the ", c.accept(5, "the end"));
        assertEquals(FinishReason.STOP, c.finishReason());
    }

    @Test
    void nothingFollowsTheEnd() {
        StopConditions c = conditions(SamplingParams.builder().maxNewTokens(1));
        c.accept(5, "a");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.accept(5, "a"));
        assertTrue(e.getMessage().contains("length"), e.getMessage());
    }

    @Test
    void aPromptThatFillsTheContextIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StopConditions(SamplingParams.defaults(), EOS, 4096, 4096));
        assertTrue(e.getMessage().contains("4095"), e.getMessage());
    }

    @Test
    void aModelWithoutEosNeverStopsOnIt() {
        StopConditions c = new StopConditions(SamplingParams.defaults(), -1, 10, 4096);
        c.accept(0, "a");
        assertFalse(c.finished());
    }
}
