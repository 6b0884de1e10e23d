package org.mixtralspark.engine.backend;

import org.mixtralspark.engine.kv.BlockCopy;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.List;
import java.util.Objects;

/**
 * What one forward step computes, as the scheduler decided it (vLLM's {@code SchedulerOutput}): for each scheduled
 * sequence, the tokens to run now, where they start, its block table, and whether its next-token logits are wanted.
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
     * @param wantsLogits whether the next-token logits after the last of them are wanted (the sequence has caught up
     *                    with every token it knows; a prompt chunk that is not its prompt's last needs none)
     */
    public record Sequence(int[] tokenIds, int start, BlockTable table, boolean wantsLogits) {
        public Sequence {
            Objects.requireNonNull(table, "table");
            if (tokenIds.length == 0 || start < 0) {
                throw new IllegalArgumentException("a step's sequence needs tokens and a position >= 0, got "
                        + tokenIds.length + " tokens at " + start);
            }
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
            logits += s.wantsLogits ? 1 : 0;
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
            if (s.wantsLogits) {
                logitRows[l++] = t - 1;
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
     * @param logitRows  the tokens whose next-token logits are wanted, (m), in sequence order: row {@code i} of the
     *                   logits belongs to the {@code i}-th sequence that wants logits
     */
    public record Tokens(int[] ids, int[] positions, BlockTable[] tables, int[] sequenceOf, int[] logitRows) {
    }
}
