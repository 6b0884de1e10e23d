package org.mixtralspark.engine.backend;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepRecordsTest {

    private final BlockTable a = new BlockTable();
    private final BlockTable b = new BlockTable();
    private final BlockTable c = new BlockTable();
    /** a decodes one token, b prefills a chunk that is not its prompt's last, c prefills its whole prompt. */
    private final StepInput step = new StepInput(List.of(new StepInput.Sequence(new int[] {9}, 4, a, true),
            new StepInput.Sequence(new int[] {1, 2}, 0, b, false),
            new StepInput.Sequence(new int[] {5, 6, 7}, 2, c, true)));

    @Test
    void aStepFlattensPerTokenInSequenceOrder() {
        StepInput.Tokens t = step.tokens();
        assertEquals(6, step.tokenCount());
        assertArrayEquals(new int[] {9, 1, 2, 5, 6, 7}, t.ids());
        assertArrayEquals(new int[] {4, 0, 1, 2, 3, 4}, t.positions());
        assertArrayEquals(new int[] {0, 1, 1, 2, 2, 2}, t.sequenceOf());
        assertArrayEquals(new int[] {0, 5}, t.logitRows(), "the last token of each sequence that wants logits");
        assertSame(b, t.tables()[2]);
        assertSame(c, t.tables()[5]);
    }

    @Test
    void theOutputGivesEachSequenceItsOwnLogitRow() {
        float[] logits = {0, 1, 2, 10, 11, 12}; // two rows of a 3-token vocabulary
        StepOutput out = StepOutput.of(step, logits, 3, null);
        assertTrue(out.hasLogits(0));
        assertFalse(out.hasLogits(1));
        assertArrayEquals(new float[] {0, 1, 2}, out.logitsOf(0));
        assertArrayEquals(new float[] {10, 11, 12}, out.logitsOf(2));
        assertThrows(IllegalArgumentException.class, () -> out.logitsOf(1));
        float[] copy = out.logitsOf(2);
        copy[0] = 99;
        assertEquals(10, out.logitsOf(2)[0], "a sampler may change its copy");
        assertThrows(IllegalStateException.class, () -> StepOutput.of(step, new float[3], 3, null),
                "one row for two sequences that want logits");
    }

    @Test
    void aSequenceMayWantTheLogitsOfSeveralTrailingPositions() {
        StepInput many = new StepInput(List.of(new StepInput.Sequence(new int[] {9}, 4, a, true),
                new StepInput.Sequence(new int[] {1, 2, 3, 4}, 0, b, 3),
                new StepInput.Sequence(new int[] {5, 6}, 2, c, 0),
                new StepInput.Sequence(new int[] {7, 8}, 0, new BlockTable(), 2)));
        assertArrayEquals(new int[] {0, 2, 3, 4, 7, 8}, many.tokens().logitRows(),
                "b's last three tokens, then both of the last sequence's");
        float[] logits = new float[6 * 2];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = i;
        }
        StepOutput out = StepOutput.of(many, logits, 2, null);
        assertArrayEquals(new float[] {0, 1}, out.logitsOf(0));
        assertArrayEquals(new float[] {6, 7}, out.logitsOf(1), "the next-token logits are the last row");
        assertArrayEquals(new float[] {6, 7}, out.logitsBefore(1, 0));
        assertArrayEquals(new float[] {2, 3}, out.logitsBefore(1, 2));
        assertThrows(IllegalArgumentException.class, () -> out.logitsBefore(1, 3), "a's row is not b's");
        assertFalse(out.hasLogits(2));
        assertArrayEquals(new float[] {8, 9}, out.logitsBefore(3, 1));
        assertThrows(IllegalArgumentException.class, () -> out.logitsBefore(3, 2), "b's row is not d's");
        assertThrows(IllegalArgumentException.class, () -> out.logitsBefore(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new StepInput.Sequence(new int[] {1, 2}, 0, a, 3));
        assertThrows(IllegalArgumentException.class, () -> new StepInput.Sequence(new int[] {1, 2}, 0, a, -1));
    }

    @Test
    void aSequenceNeedsTokensAndAPosition() {
        assertThrows(IllegalArgumentException.class, () -> new StepInput.Sequence(new int[0], 0, a, true));
        assertThrows(IllegalArgumentException.class, () -> new StepInput.Sequence(new int[] {1}, -1, a, true));
    }
}
