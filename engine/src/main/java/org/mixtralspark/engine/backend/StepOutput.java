package org.mixtralspark.engine.backend;

import org.mixtralspark.engine.model.mixtral.Routing;

import java.util.Arrays;

/**
 * What one forward step gives back (vLLM's {@code ModelRunnerOutput}): for each sequence of the {@link StepInput}
 * that wanted them, its next-token logits (after its last token, and after each of its
 * {@link StepInput.Sequence#logitCount} last tokens where it wanted more); and how the step's tokens were routed to
 * the experts.
 *
 * @param logits       (m, vocab) row-major: each sequence that wanted logits has {@code logitCount} consecutive rows,
 *                     in position order
 * @param vocab        the vocabulary size
 * @param logitRow     per sequence of the step, the row in {@code logits} of its last token's next-token logits, or -1
 *                     when it wanted none; its earlier rows (if any) are just before it
 * @param expertTokens (layer, expert): how many of the step's tokens each layer routed to each expert (each token
 *                     counts once per chosen expert, so a layer's counts sum to tokens x experts per token); null
 *                     when the backend does not record it
 * @param routings     (layer) each layer's routing of the step's tokens in batch order (the step's sequences one after
 *                     the other, each its tokens in position order), for per-token routing reports; null when the
 *                     backend does not record it
 */
public record StepOutput(float[] logits, int vocab, int[] logitRow, int[][] expertTokens, Routing[] routings) {

    public StepOutput(float[] logits, int vocab, int[] logitRow, int[][] expertTokens) {
        this(logits, vocab, logitRow, expertTokens, null);
    }

    /** Pairs the logit rows a backend computed for {@code input} with the input's sequences. */
    public static StepOutput of(StepInput input, float[] logits, int vocab, int[][] expertTokens) {
        return of(input, logits, vocab, expertTokens, null);
    }

    /** As {@link #of(StepInput, float[], int, int[][])}, with each layer's routing of the step's tokens. */
    public static StepOutput of(StepInput input, float[] logits, int vocab, int[][] expertTokens,
                                Routing[] routings) {
        int[] row = new int[input.sequences().size()];
        int next = 0;
        for (int i = 0; i < row.length; i++) {
            int count = input.sequences().get(i).logitCount();
            next += count;
            row[i] = count > 0 ? next - 1 : -1;
        }
        if (logits.length != (long) next * vocab) {
            throw new IllegalStateException("the backend returned " + logits.length + " logits for " + next
                    + " rows of " + vocab);
        }
        return new StepOutput(logits, vocab, row, expertTokens, routings);
    }

    /**
     * A copy of the logits of sequence {@code i} after its token {@code back} positions before its last one (0: the
     * last, the same as {@link #logitsOf(int)}), (vocab).
     */
    public float[] logitsBefore(int i, int back) {
        int r = logitRow[i];
        if (r < 0 || back < 0 || r - back < 0 || (i > 0 && r - back <= lastRowBefore(i))) {
            throw new IllegalArgumentException("sequence " + i + " of the step has no logits " + back
                    + " positions before its last");
        }
        return Arrays.copyOfRange(logits, (r - back) * vocab, (r - back + 1) * vocab);
    }

    private int lastRowBefore(int i) {
        for (int j = i - 1; j >= 0; j--) {
            if (logitRow[j] >= 0) {
                return logitRow[j];
            }
        }
        return -1;
    }

    /** Whether sequence {@code i} of the step has logits. */
    public boolean hasLogits(int i) {
        return logitRow[i] >= 0;
    }

    /** A copy of sequence {@code i}'s next-token logits, (vocab); the caller may change it. */
    public float[] logitsOf(int i) {
        int r = logitRow[i];
        if (r < 0) {
            throw new IllegalArgumentException("sequence " + i + " of the step wanted no logits");
        }
        return Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab);
    }
}
