package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kv.BlockTable;

import java.util.Arrays;
import java.util.List;

/**
 * One request as the scheduler sees it: its tokens (prompt, then generated), how many of them are in the KV cache,
 * and its blocks. The {@link Scheduler} is the one writer of this state (it admits, schedules, advances, appends,
 * pre-empts and finishes); everyone else only reads it. What the request generates — sampler, stop conditions, text,
 * future — is its {@link Generation}, owned by the {@link OutputProcessor}.
 */
final class Sequence {

    final GenerationRequest request;
    /** The output side of this request. */
    final Generation generation;

    /** Its blocks in the runner's paged KV cache. */
    final BlockTable table = new BlockTable();
    /** Prompt ids followed by generated ids (a final EOS / stop id included). */
    private int[] tokens;
    private int length;
    /** Tokens whose keys and values are in the cache. */
    private int computed;
    /** Times its cache was taken back to make room (it then recomputes its tokens). */
    private int preemptions;
    /** Prompt tokens found in the prefix cache when it was first admitted; -1 before that. */
    private int cachedPromptTokens = -1;
    /**
     * Set on a sequence that only prefills a prompt for others: once its prompt is in the cache, these samples take
     * its blocks (a fork) and each draws its first token from its logits; it generates nothing itself. Null otherwise.
     */
    List<Sequence> forkInto;
    /**
     * The first position after which the next-token logits are wanted at every position (the scheduler asks the
     * backend for them): 0 for a prompt whose log-probabilities are wanted, the prompt's length for a label's sequence;
     * {@link Integer#MAX_VALUE} otherwise (only the last position's, to sample from).
     */
    int logitsFrom;
    /** The scoring request this sequence computes for (its prompt's sequence, or a label's); null otherwise. */
    LabelRun labelRun;
    /** A label's sequence: which label it scores. */
    int labelIndex = -1;

    Sequence(GenerationRequest request, Generation generation) {
        this.request = request;
        this.generation = generation;
        this.tokens = request.promptIds();
        this.length = tokens.length;
        this.logitsFrom = request.promptLogprobs() >= 0 ? 0 : Integer.MAX_VALUE;
    }

    /** A sample of {@code parent}'s prompt: it starts where the parent is, holding nothing until it is forked. */
    Sequence(GenerationRequest request, Generation generation, Sequence parent) {
        this(request, generation);
        if (!Arrays.equals(request.promptIds(), parent.request.promptIds())) {
            throw new IllegalArgumentException("request " + request.id() + ": a sample has its parent's prompt");
        }
    }

    int promptLength() {
        return request.promptLength();
    }

    /** Known tokens: the prompt and what was generated so far. */
    int length() {
        return length;
    }

    /** Tokens whose keys and values are in the cache. */
    int computed() {
        return computed;
    }

    int preemptions() {
        return preemptions;
    }

    /** A label's sequence of a scoring request (it feeds a label, samples nothing). */
    boolean isLabel() {
        return labelIndex >= 0;
    }

    boolean inPrefill() {
        return computed < promptLength();
    }

    boolean hasGenerated() {
        return length > promptLength();
    }

    /** Prompt tokens found in the prefix cache at its first admission (0 before it). */
    int cachedPromptTokens() {
        return Math.max(0, cachedPromptTokens);
    }

    /** Known tokens not yet in the cache. */
    int pending() {
        return length - computed;
    }

    /** Tokens {@code [from, to)} (copied). */
    int[] tokens(int from, int to) {
        return Arrays.copyOfRange(tokens, from, to);
    }

    // ---- written by the Scheduler only ----

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(8, tokens.length * 2));
        }
        tokens[length++] = token;
    }

    /** It was admitted with its first {@code cached} tokens' keys and values found in the prefix cache. */
    void admitted(int cached) {
        computed = cached;
        if (cachedPromptTokens < 0) {
            cachedPromptTokens = Math.min(cached, promptLength());
        }
    }

    /** It was forked from {@code parent}: it has the parent's tokens in the cache, through the parent's blocks. */
    void forkedFrom(Sequence parent) {
        tokens = parent.tokens(0, parent.length());
        length = parent.length();
        computed = parent.computed();
        cachedPromptTokens = parent.cachedPromptTokens();
    }

    void advance(int count) {
        computed += count;
    }

    /** Its cache was taken back: it recomputes every known token when it runs again. */
    void preempted() {
        computed = 0;
        preemptions++;
    }
}
