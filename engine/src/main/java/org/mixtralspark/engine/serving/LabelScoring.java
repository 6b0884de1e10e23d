package org.mixtralspark.engine.serving;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a scoring request asks instead of a generation: the log-probability of each label continuing the prompt.
 * Labels are tokenized by the caller, as the prompt is: {@code ids.get(i)} are the tokens of {@code texts.get(i)},
 * made so that {@code promptIds + ids.get(i)} is the text a brute-force run would score. The engine's callers use the
 * tokenizer's encoding without BOS ({@code Tokenizer.encode(label, false)}): for SentencePiece vocabularies
 * (Llama, Mistral, Mixtral) it starts the label with {@code ▁}, so "positive" is scored as the word " positive" after
 * the prompt, as lm-evaluation-harness scores a continuation that starts with a space.
 *
 * @param texts     the labels as given (reported back, and the best one named)
 * @param ids       each label's token ids
 * @param normalize whether the best label is the one with the highest mean log-probability per token instead of the
 *                  highest sum (a length-normalised score: long labels are not penalised for their length)
 */
public record LabelScoring(List<String> texts, List<int[]> ids, boolean normalize) {

    public LabelScoring {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(ids, "ids");
        if (texts.size() != ids.size()) {
            throw new IllegalArgumentException("labels: " + texts.size() + " texts but " + ids.size()
                    + " token lists");
        }
        // kept with any null label, for problem() to name it in the row's error
        texts = java.util.Collections.unmodifiableList(new ArrayList<>(texts));
        List<int[]> copy = new ArrayList<>(ids.size());
        for (int[] a : ids) {
            copy.add(Objects.requireNonNull(a, "label ids").clone());
        }
        ids = List.copyOf(copy);
    }

    /** Labels tokenized by {@code tokenize} (the caller's label encoding: see the class comment). */
    public static LabelScoring of(List<String> texts, java.util.function.Function<String, int[]> tokenize,
                                  boolean normalize) {
        List<int[]> ids = new ArrayList<>(texts.size());
        for (String t : texts) {
            ids.add(t == null ? new int[0] : tokenize.apply(t));
        }
        return new LabelScoring(texts, ids, normalize);
    }

    public int size() {
        return texts.size();
    }

    /** Label {@code i}'s token ids (a copy). */
    public int[] idsOf(int i) {
        return ids.get(i).clone();
    }

    /**
     * What is wrong with this label list after a prompt of {@code promptLength} tokens in a context of
     * {@code contextLength}, or null when nothing is: none, a null or empty label, one with no tokens, a duplicate,
     * one that does not fit in the context after the prompt.
     */
    public String problem(int promptLength, int contextLength) {
        if (texts.isEmpty()) {
            return "labels: the list is empty; give at least one label";
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null || t.isEmpty()) {
                return "labels: label " + i + " is " + (t == null ? "null" : "empty");
            }
            if (!seen.add(t)) {
                return "labels: \"" + t + "\" is given twice";
            }
            int n = ids.get(i).length;
            if (n == 0) {
                return "labels: label \"" + t + "\" has no tokens";
            }
            if ((long) promptLength + n > contextLength) {
                return "labels: label \"" + t + "\" (" + n + " tokens) after the prompt's " + promptLength
                        + " tokens does not fit in the context of " + contextLength + " tokens";
            }
        }
        return null;
    }
}
