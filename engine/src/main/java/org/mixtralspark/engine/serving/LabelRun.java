package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.FinishReason;

import java.util.ArrayList;
import java.util.List;

/**
 * One scoring request while it runs: its prompt's sequence computes the prompt once; its last logits score every
 * label's first token; then each label longer than one token runs as a fork of the prompt (sharing its KV blocks) that
 * feeds the label's tokens but its last with logits at every position. The request completes when every label is
 * scored. Runs on the engine's step thread.
 */
final class LabelRun {

    private final LabelScoring labels;
    private final PositionScores[] scores;
    private int done;
    private boolean ended;

    LabelRun(GenerationRequest request) {
        this.labels = request.labels();
        int[] prompt = request.promptIds();
        this.scores = new PositionScores[labels.size()];
        for (int i = 0; i < scores.length; i++) {
            int[] label = labels.idsOf(i);
            int[] target = java.util.Arrays.copyOf(prompt, prompt.length + label.length);
            System.arraycopy(label, 0, target, prompt.length, label.length);
            scores[i] = new PositionScores(target, prompt.length, 0);
        }
    }

    /**
     * The prompt is computed and {@code lastLogits} are its next-token logits: scores every label's first token and
     * returns, for each label that has more, a child sequence to fork from {@code prompt}, with the tokens to append
     * to it (the label's but its last).
     */
    List<Child> promptDone(Sequence prompt, float[] lastLogits) {
        int position = prompt.promptLength() - 1;
        List<Child> children = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            scores[i].accept(position, lastLogits);
            if (scores[i].complete()) {
                done++;
            } else {
                Sequence c = new Sequence(prompt.request, prompt.generation, prompt);
                c.labelRun = this;
                c.labelIndex = i;
                c.logitsFrom = prompt.promptLength();
                int[] label = labels.idsOf(i);
                children.add(new Child(c, java.util.Arrays.copyOf(label, label.length - 1)));
            }
        }
        return children;
    }

    /** A label's sequence and the tokens it feeds after the prompt. */
    record Child(Sequence sequence, int[] feed) {
    }

    /** Records the logits a label's sequence got after {@code position}. */
    void accept(Sequence child, int position, float[] logits) {
        scores[child.labelIndex].accept(position, logits);
    }

    /** Whether the label of {@code child} is scored (it leaves the batch then). */
    boolean labelDone(Sequence child) {
        return scores[child.labelIndex].complete();
    }

    /** Counts a finished label; true when it was the last (the request can complete). */
    boolean finishLabel() {
        done++;
        return done == scores.length;
    }

    boolean allDone() {
        return done == scores.length;
    }

    /**
     * Whether the request has ended (completed or failed); a failure of one label ends it, and its other sequences
     * are dropped as they come.
     */
    boolean ended() {
        return ended;
    }

    /** Marks the request ended; false when it already was (complete it once). */
    boolean end() {
        boolean was = ended;
        ended = true;
        return !was;
    }

    /** The result: every label's score and the best one, whose text is also the result's text. */
    GenerationResult result(Sequence prompt) {
        List<LabelScores.Label> out = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            double[] lp = scores[i].logprobs();
            double sum = 0;
            for (double x : lp) {
                sum += x;
            }
            out.add(new LabelScores.Label(labels.texts().get(i), sum, lp));
        }
        LabelScores ls = LabelScores.of(out, labels.normalize());
        Generation g = prompt.generation;
        return new GenerationResult(prompt.request.id(), prompt.request.promptIds(), new int[0], ls.best(),
                FinishReason.STOP, List.of(), null, g.prefillNanos, g.decodeNanos, prompt.cachedPromptTokens(),
                g.promptLogprobs(), ls);
    }
}
