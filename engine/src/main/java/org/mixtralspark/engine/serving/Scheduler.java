package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockCopy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/**
 * Decides what the next forward step computes, and who holds the KV cache's blocks. No model, no threads: the
 * engine's step loop calls {@link #schedule()} and then reports back.
 *
 * <p>NOTE: as in vLLM's scheduler there are no separate prefill and decode phases: each running sequence just
 * catches up its computed tokens with its known tokens. A sequence that is decoding needs one token; a sequence in
 * its prompt takes as many as the step's token budget leaves, so long prompts are prefilled in chunks interleaved
 * with other sequences' decode steps. Sequences join the running batch whenever there is room — a free slot and
 * free KV blocks for their prompt — and leave it as soon as they finish (continuous batching).
 *
 * <p>When the cache is full: a new sequence waits; a running one that needs a block for its next token takes it
 * from the youngest running sequence, which is pre-empted: its blocks are freed, and it goes back to the head of
 * the queue to recompute its tokens (prompt and generated so far) when blocks are free again. Nothing is dropped
 * and memory never grows past the budget. A sequence that cannot fit even alone is failed with the sizes.
 *
 * <p>The scheduler is the one writer of its sequences' state ({@link Sequence}): after a step the engine reports
 * the step done ({@link #advance}) and each new token ({@link #append}), and which sequences finished.
 */
final class Scheduler {

    /**
     * What to run in one step: for each scheduled sequence, how many of its pending tokens; and the KV blocks to copy
     * first (copy-on-write of blocks forked sequences share).
     */
    record ScheduledBatch(List<Sequence> sequences, int[] tokenCounts, int totalTokens, List<BlockCopy> copies) {

        /** Whether sequence {@code i} catches up with every token it knows this step, so that it needs logits. */
        boolean wantsLogits(int i) {
            Sequence s = sequences.get(i);
            return s.computed() + tokenCounts[i] == s.length();
        }

        /**
         * After how many of its last scheduled tokens sequence {@code i} wants the next-token logits: those at or past
         * its {@link Sequence#logitsFrom} (prompt log-probabilities, a label's tokens), and at least the last one when
         * it catches up.
         */
        int logitCount(int i) {
            Sequence s = sequences.get(i);
            int from = s.computed();
            int end = from + tokenCounts[i];
            int every = Math.max(0, end - Math.max(from, s.logitsFrom));
            return wantsLogits(i) ? Math.max(every, 1) : every;
        }

        /** The step as the backend takes it: each sequence's next {@code tokenCounts[i]} tokens from its cached ones. */
        StepInput toStepInput() {
            List<StepInput.Sequence> steps = new ArrayList<>(sequences.size());
            for (int i = 0; i < sequences.size(); i++) {
                Sequence s = sequences.get(i);
                int from = s.computed();
                steps.add(new StepInput.Sequence(s.tokens(from, from + tokenCounts[i]), from, s.table,
                        logitCount(i)));
            }
            return new StepInput(steps, copies);
        }
    }

    private final int maxRunning;
    private final int tokenBudget;
    private final BlockAllocator blocks;
    private final boolean prefixCaching;
    private final Consumer<Sequence> tooLarge;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    /** Copies made by makeWritable that no step has carried to the backend yet. */
    private final List<BlockCopy> pendingCopies = new ArrayList<>();
    private long preemptions;
    /** Prompt tokens found in the prefix cache at first admissions (written by the step thread only). */
    private volatile long cachedPromptTokens;

    /**
     * @param prefixCaching whether a sequence starts from the cached blocks of the longest prefix it shares with
     *                      earlier ones ({@link BlockAllocator#matchPrefix}), and leaves its own full blocks cached
     * @param tooLarge      called for a sequence that cannot fit in the whole cache (it is removed from scheduling)
     */
    Scheduler(int maxRunning, int tokenBudget, BlockAllocator blocks, boolean prefixCaching,
              Consumer<Sequence> tooLarge) {
        this.maxRunning = maxRunning;
        this.tokenBudget = tokenBudget;
        this.blocks = blocks;
        this.prefixCaching = prefixCaching;
        this.tooLarge = tooLarge;
    }

    void add(Sequence s) {
        waiting.addLast(s);
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    long preemptions() {
        return preemptions;
    }

    /** Prompt tokens taken from the prefix cache so far, at each sequence's first admission. */
    long cachedPromptTokens() {
        return cachedPromptTokens;
    }

    int runningCount() {
        return running.size();
    }

    int waitingCount() {
        return waiting.size();
    }

    /** Every sequence not yet finished, waiting or running (to fail them on shutdown); their blocks are freed. */
    List<Sequence> drainAll() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        for (Sequence s : all) {
            blocks.release(s.table);
        }
        running.clear();
        waiting.clear();
        return all;
    }

    /** The step of {@code batch} ran: each of its sequences has its scheduled tokens in the cache now. */
    void advance(ScheduledBatch batch) {
        for (int i = 0; i < batch.sequences().size(); i++) {
            Sequence s = batch.sequences().get(i);
            s.advance(batch.tokenCounts()[i]);
            if (prefixCaching) {
                // the blocks it has just filled become findable by later sequences with the same start
                int from = s.table.committedBlocks() * blocks.blockSize();
                int to = s.computed() / blocks.blockSize() * blocks.blockSize();
                if (to > from) {
                    blocks.commit(s.table, s.tokens(from, to));
                }
            }
        }
    }

    /** {@code s} generated {@code token} (its blocks for the next position are reserved at the next schedule). */
    void append(Sequence s, int token) {
        s.append(token);
    }

    /**
     * Forks the running {@code parent} into {@code children}: each holds all of the parent's blocks (shared, not
     * copied), has its tokens in the cache, and runs from now on; the first to write into the shared last block gets
     * its own copy of it. The parent keeps running until it is {@link #finish finished}.
     */
    void fork(Sequence parent, List<Sequence> children) {
        if (!running.contains(parent)) {
            throw new IllegalStateException("only a running sequence can be forked");
        }
        for (Sequence c : children) {
            blocks.fork(parent.table, c.table);
            c.forkedFrom(parent);
            running.add(c);
        }
    }

    /** A sequence finished (or failed): it leaves the batch and its blocks are freed. */
    void finish(Sequence s) {
        running.remove(s);
        waiting.remove(s);
        blocks.release(s.table);
    }

    ScheduledBatch schedule() {
        admit();
        // every decoding sequence needs room for its next position; take it from the youngest if need be
        for (int i = 0; i < running.size(); i++) {
            Sequence s = running.get(i);
            if (s.inPrefill() || roomToDecode(s)) {
                continue;
            }
            while (!roomToDecode(s)) {
                Sequence victim = running.get(running.size() - 1);
                preempt(victim);
                if (victim == s) {
                    break;
                }
            }
            if (!running.contains(s)) {
                i--; // s itself was the youngest and went back to the queue
            }
        }
        List<Sequence> seqs = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int budget = tokenBudget;
        // decoding sequences first: one token each, so that a long prompt never stalls them (a label's sequence
        // feeds its label's tokens, as many as the budget leaves)
        for (Sequence s : running) {
            if (!s.inPrefill() && budget > 0) {
                int n = Math.min(budget, s.pending());
                seqs.add(s);
                counts.add(n);
                budget -= n;
            }
        }
        for (Sequence s : running) {
            if (s.inPrefill() && budget > 0) {
                int n = Math.min(budget, s.pending());
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
        List<BlockCopy> copies = List.copyOf(pendingCopies);
        pendingCopies.clear();
        return new ScheduledBatch(seqs, c, total, copies);
    }

    /**
     * Makes room for the next position of the decoding {@code s}: a block for it, and its own copy of the block when
     * that one is shared with forked sequences (the copy is carried to the backend with the next step).
     *
     * @return false, changing nothing, when there are not enough free blocks
     */
    private boolean roomToDecode(Sequence s) {
        int position = s.computed();
        boolean copy = blocks.needsCopy(s.table, position);
        int fresh = Math.max(0, blocks.blocksFor(s.length()) - s.table.blockCount());
        if (fresh + (copy ? 1 : 0) > blocks.freeBlocks()) {
            return false;
        }
        blocks.reserve(s.table, s.length());
        if (copy) {
            pendingCopies.add(blocks.makeWritable(s.table, position));
        }
        return true;
    }

    /**
     * Moves waiting sequences into the batch while there is a slot and blocks for all their known tokens; a sequence
     * starts from the cached blocks of its longest cached prefix, so only the rest is computed.
     */
    private void admit() {
        while (running.size() < maxRunning && !waiting.isEmpty()) {
            Sequence s = waiting.peekFirst();
            int need = blocks.blocksFor(s.length() + 1);
            if (need > blocks.totalBlocks()) {
                waiting.pollFirst();
                tooLarge.accept(s);
                continue;
            }
            // positions whose logits are wanted cannot come from the cache (a prompt whose log-probabilities are
            // wanted computes all of it): a longer match is dropped
            boolean useCache = prefixCaching && s.logitsFrom > 0;
            int cached = useCache ? blocks.matchPrefix(s.tokens(0, s.length()), s.table) : 0;
            if (cached > s.logitsFrom) {
                blocks.release(s.table);
                cached = 0;
            }
            if (useCache && computedByAnother(s, cached)) {
                blocks.release(s.table);
                return; // it waits (and those behind it) until that prefill has committed the blocks it would reuse
            }
            if (!blocks.reserve(s.table, s.length() + 1)) {
                blocks.release(s.table); // its cached prefix stays cached for when it is admitted
                return; // first come, first served: later arrivals wait behind it
            }
            boolean first = s.preemptions() == 0;
            s.admitted(cached);
            if (first) {
                cachedPromptTokens += s.cachedPromptTokens();
            }
            running.add(waiting.pollFirst());
        }
    }

    /**
     * Whether a running sequence is still prefilling whole blocks that {@code s} could take from the cache once they
     * are committed, beyond the {@code cached} tokens it found: admitting {@code s} now would compute the same head
     * twice, side by side (a batch of rows sharing a long head, submitted together, would each compute it). Waiting
     * costs nothing: those blocks are being computed anyway, and admission resumes after the step that commits them.
     */
    private boolean computedByAnother(Sequence s, int cached) {
        int bs = blocks.blockSize();
        int reusable = (s.length() - 1) / bs * bs; // a prompt never takes its last token from the cache
        if (reusable <= cached) {
            return false;
        }
        for (Sequence r : running) {
            if (r.computed() >= r.promptLength()) {
                continue; // not prefilling: whatever of its prompt it had is committed already
            }
            int common = Math.min(Math.min(reusable, r.promptLength()), commonPrefix(s, r)) / bs * bs;
            if (common > cached && r.computed() < common) {
                return true;
            }
        }
        return false;
    }

    private static int commonPrefix(Sequence a, Sequence b) {
        int n = Math.min(a.length(), b.length());
        int[] x = a.tokens(0, n);
        int[] y = b.tokens(0, n);
        int i = 0;
        while (i < n && x[i] == y[i]) {
            i++;
        }
        return i;
    }

    private void preempt(Sequence victim) {
        running.remove(victim);
        blocks.release(victim.table);
        victim.preempted();
        preemptions++;
        waiting.addFirst(victim);
    }
}
