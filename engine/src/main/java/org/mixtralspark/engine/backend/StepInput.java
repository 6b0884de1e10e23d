package org.mixtralspark.engine.backend;

import org.mixtralspark.engine.kv.BlockCopy;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.List;
import java.util.Objects;

/**
 * What one forward step computes, as the scheduler decided it (vLLM's {@code SchedulerOutput}): for each scheduled
 * sequence, the tokens to run now, where they start, its block table, and at how many of its last positions the
 * next-token logits are wanted (the last one for sampling; every position for prompt log-probabilities and scoring).
 * A sequence appears at most once; the backend writes each token's key and value into the table's slot for its
 * position, and every earlier position of the sequence is already in the cache.
 *
 * @param sequences the step's sequences, in the scheduler's order (the order of {@link StepOutput}'s rows)
 * @param copies    KV blocks to copy before the step computes anything (copy-on-write of blocks that forked
 *                  sequences shared: a sequence of this step writes into each {@code to})
 */
public record StepInput(List<Sequence> sequences, List<BlockCopy> copies) {

    /**
     * One sequence's part of the step: {@code tokenIds[i]} is at position {@code start + i}.
     *
     * @param tokenIds    the tokens to compute now, at least one: a prompt chunk, or the one token decoded last
     * @param start       the position of the first of them (the number of the sequence's tokens already cached)
     * @param table       the sequence's blocks, reserved up to position {@code start + tokenIds.length - 1}
     * @param logitCount  after how many of its last tokens the next-token logits are wanted, 0 to
     *                    {@code tokenIds.length}: 1 when the sequence catches up with every token it knows (it samples
     *                    next), 0 for a prompt chunk that is not its prompt's last, more where the log-probability of
     *                    each position's next token is wanted (prompt log-probabilities, label scoring). Trailing,
     *                    because what is wanted is always every position from some point on.
     */
    public record Sequence(int[] tokenIds, int start, BlockTable table, int logitCount) {
        public Sequence {
            Objects.requireNonNull(table, "table");
            if (tokenIds.length == 0 || start < 0) {
                throw new IllegalArgumentException("a step's sequence needs tokens and a position >= 0, got "
                        + tokenIds.length + " tokens at " + start);
            }
            if (logitCount < 0 || logitCount > tokenIds.length) {
                throw new IllegalArgumentException("a step's sequence of " + tokenIds.length
                        + " tokens cannot want logits at " + logitCount + " positions");
            }
        }

        /** Logits after the last token only ({@code wantsLogits}), or none. */
        public Sequence(int[] tokenIds, int start, BlockTable table, boolean wantsLogits) {
            this(tokenIds, start, table, wantsLogits ? 1 : 0);
        }

        /** Whether any logits are wanted; the last row is always the next-token logits after its last token. */
        public boolean wantsLogits() {
            return logitCount > 0;
        }
    }

    public StepInput {
        sequences = List.copyOf(sequences);
        copies = List.copyOf(copies);
    }

    /** A step with no block to copy. */
    public StepInput(List<Sequence> sequences) {
        this(sequences, List.of());
    }

    /** Tokens in the step, over all its sequences. */
    public int tokenCount() {
        int n = 0;
        for (Sequence s : sequences) {
            n += s.tokenIds.length;
        }
        return n;
    }

    /** The step per token, as the kernels index it: {@link Tokens}. */
    public Tokens tokens() {
        int n = tokenCount();
        int[] ids = new int[n];
        int[] positions = new int[n];
        BlockTable[] tables = new BlockTable[n];
        int[] sequenceOf = new int[n];
        int logits = 0;
        for (Sequence s : sequences) {
            logits += s.logitCount;
        }
        int[] logitRows = new int[logits];
        int t = 0;
        int l = 0;
        for (int i = 0; i < sequences.size(); i++) {
            Sequence s = sequences.get(i);
            for (int j = 0; j < s.tokenIds.length; j++, t++) {
                ids[t] = s.tokenIds[j];
                positions[t] = s.start + j;
                tables[t] = s.table;
                sequenceOf[t] = i;
            }
            for (int j = s.logitCount; j > 0; j--) {
                logitRows[l++] = t - j;
            }
        }
        return new Tokens(ids, positions, tables, sequenceOf, logitRows);
    }

    /**
     * The step flattened per token, (T) each: a sequence's tokens are consecutive and in order.
     *
     * @param ids        token ids
     * @param positions  each token's position in its sequence
     * @param tables     each token's sequence's block table
     * @param sequenceOf each token's index in {@link #sequences()}
     * @param logitRows  the tokens whose next-token logits are wanted, (m), in sequence order and, within a
     *                   sequence, in position order: each sequence's {@code logitCount} last tokens
     */
    public record Tokens(int[] ids, int[] positions, BlockTable[] tables, int[] sequenceOf, int[] logitRows) {
    }
}
