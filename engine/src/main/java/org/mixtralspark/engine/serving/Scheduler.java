package org.mixtralspark.engine.serving;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Decides what the next forward step computes. No model, no threads: the engine's step loop calls
 * {@link #schedule()} and then reports back.
 *
 * <p>NOTE: as in vLLM's scheduler there are no separate prefill and decode phases: each running sequence just
 * catches up its computed tokens with its known tokens. A sequence that is decoding needs one token; a sequence in
 * its prompt takes as many as the step's token budget leaves, so long prompts are prefilled in chunks interleaved
 * with other sequences' decode steps. Sequences join the running batch whenever there is room and leave it as soon
 * as they finish (continuous batching).
 */
final class Scheduler {

    /** What to run in one step: for each scheduled sequence, how many of its pending tokens. */
    record ScheduledBatch(List<Sequence> sequences, int[] tokenCounts, int totalTokens) {
    }

    private final int maxRunning;
    private final int tokenBudget;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();

    Scheduler(int maxRunning, int tokenBudget) {
        this.maxRunning = maxRunning;
        this.tokenBudget = tokenBudget;
    }

    void add(Sequence s) {
        waiting.addLast(s);
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    List<Sequence> running() {
        return running;
    }

    /** Every sequence not yet finished, waiting or running (to fail them on shutdown). */
    List<Sequence> drainAll() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.clear();
        waiting.clear();
        return all;
    }

    void finish(Sequence s) {
        running.remove(s);
    }

    ScheduledBatch schedule() {
        while (running.size() < maxRunning && !waiting.isEmpty()) {
            running.add(waiting.pollFirst());
        }
        List<Sequence> seqs = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int budget = tokenBudget;
        // decoding sequences first: one token each, so that a long prompt never stalls them
        for (Sequence s : running) {
            if (!s.inPrefill() && budget > 0) {
                seqs.add(s);
                counts.add(s.length - s.computed);
                budget -= s.length - s.computed;
            }
        }
        for (Sequence s : running) {
            if (s.inPrefill() && budget > 0) {
                int n = Math.min(budget, s.length - s.computed);
                seqs.add(s);
                counts.add(n);
                budget -= n;
            }
        }
        int[] c = new int[counts.size()];
        int total = 0;
        for (int i = 0; i < c.length; i++) {
            c[i] = counts.get(i);
            total += c[i];
        }
        return new ScheduledBatch(seqs, c, total);
    }
}
