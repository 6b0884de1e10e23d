package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.RawLogprobs;
import org.mixtralspark.engine.sampling.TokenLogprob;

import java.util.Arrays;
import java.util.List;

/**
 * Collects the log-probabilities of known tokens from the logits of the positions before them: the logits after
 * position {@code p} score token {@code target[p + 1]}. For prompt log-probabilities the target is the prompt and
 * scoring starts at its second token; for a label, the target is the prompt followed by the label and scoring starts
 * at the label's first token. Recording a position twice (a pre-empted sequence recomputes its tokens, bit for bit the
 * same) overwrites it. Runs on the engine's step thread.
 */
final class PositionScores {

    private final int[] target;
    private final int first;
    private final int topN;
    private final TokenLogprob[] entries;
    private final double[] logprobs;
    private int filled;

    /**
     * @param target the tokens, of which {@code target[first..]} are scored
     * @param first  the index of the first scored token, at least 1
     * @param topN   alternatives to keep with each entry (0: none)
     */
    PositionScores(int[] target, int first, int topN) {
        if (first < 1 || first > target.length) {
            throw new IllegalArgumentException("scores start at token " + first + " of " + target.length);
        }
        this.target = target.clone();
        this.first = first;
        this.topN = topN;
        this.entries = new TokenLogprob[target.length - first];
        this.logprobs = new double[target.length - first];
    }

    /** Records the token after {@code position} from that position's next-token logits, if it is a scored one. */
    void accept(int position, float[] logits) {
        int i = position + 1 - first;
        if (i < 0 || i >= entries.length) {
            return;
        }
        int token = target[position + 1];
        if (entries[i] == null) {
            filled++;
        }
        logprobs[i] = RawLogprobs.of(logits, token);
        entries[i] = topN > 0 ? RawLogprobs.withTop(logits, token, topN)
                : new TokenLogprob(token, (float) logprobs[i], List.of());
    }

    /** Whether every scored token has its log-probability. */
    boolean complete() {
        return filled == entries.length;
    }

    /** The entries in token order (all of them recorded: see {@link #complete()}). */
    List<TokenLogprob> entries() {
        if (!complete()) {
            throw new IllegalStateException(filled + " of " + entries.length + " positions scored");
        }
        return List.of(entries);
    }

    /** Each scored token's log-probability, in double. */
    double[] logprobs() {
        return Arrays.copyOf(logprobs, logprobs.length);
    }
}
