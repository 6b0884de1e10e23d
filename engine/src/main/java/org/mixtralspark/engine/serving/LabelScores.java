package org.mixtralspark.engine.serving;

import java.util.Arrays;
import java.util.List;

/**
 * The answer of a scoring request ({@link LabelScoring}): each label's log-probability of continuing the prompt, in
 * the order given, and the best label.
 *
 * @param labels     each label's score, in the request's order
 * @param best       the label with the highest score (sum, or mean per token when normalised); ties: the first given
 * @param normalized whether {@code best} was chosen by mean log-probability per token
 */
public record LabelScores(List<Label> labels, String best, boolean normalized) {

    public LabelScores {
        labels = List.copyOf(labels);
    }

    /**
     * One label's score.
     *
     * @param label          the label as given
     * @param logprob        the sum of its tokens' log-probabilities: {@code log P(label | prompt)}
     * @param tokenLogprobs  each of its tokens' log-probability given the prompt and the label's earlier tokens
     */
    public record Label(String label, double logprob, double[] tokenLogprobs) {
        public Label {
            tokenLogprobs = tokenLogprobs.clone();
        }

        @Override
        public double[] tokenLogprobs() {
            return tokenLogprobs.clone();
        }

        /** The mean log-probability per token (the length-normalised score). */
        public double meanLogprob() {
            return logprob / tokenLogprobs.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Label l && l.label.equals(label) && Double.compare(l.logprob, logprob) == 0
                    && Arrays.equals(l.tokenLogprobs, tokenLogprobs);
        }

        @Override
        public int hashCode() {
            return label.hashCode() * 31 + Arrays.hashCode(tokenLogprobs);
        }
    }

    /** Scores of these labels, the best chosen by sum or, with {@code normalize}, by mean per token. */
    public static LabelScores of(List<Label> labels, boolean normalize) {
        Label best = null;
        for (Label l : labels) {
            double score = normalize ? l.meanLogprob() : l.logprob();
            if (best == null || score > (normalize ? best.meanLogprob() : best.logprob())) {
                best = l;
            }
        }
        return new LabelScores(labels, best == null ? null : best.label(), normalize);
    }

    /** The score of the label {@code text}, or null when there is no such label. */
    public Label of(String text) {
        return labels.stream().filter(l -> l.label().equals(text)).findFirst().orElse(null);
    }
}
