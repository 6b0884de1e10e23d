package org.mixtralspark.engine.constrain;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The allowed-token masks of one grammar over one vocabulary, computed lazily per automaton state (a trie walk, {@link
 * TokenTrie#allowedFrom}) and cached: a state's mask is computed once, then every sequence that reaches the state
 * reads it. A mask is a bitset over token ids ({@code vocab / 64} longs); the end-of-sequence token's bit is set
 * exactly in accepting states. Thread-safe (a race computes a mask twice, with the same result).
 */
public final class TokenMasks {

    /** One state's allowed tokens; {@code only} is the single allowed id when {@code count == 1}, else -1. */
    public record Mask(long[] bits, int count, int only) {
        public boolean allows(int id) {
            return (bits[id >>> 6] & (1L << id)) != 0;
        }
    }

    private final Grammar grammar;
    private final TokenVocabulary vocab;
    private final TokenTrie trie;
    private final AtomicReferenceArray<Mask> byState;
    private volatile Mask first;
    private final AtomicLong computeNanos;
    private final AtomicLong computed;

    TokenMasks(Grammar grammar, TokenVocabulary vocab, TokenTrie trie, AtomicLong computeNanos, AtomicLong computed) {
        this.grammar = grammar;
        this.vocab = vocab;
        this.trie = trie;
        this.byState = new AtomicReferenceArray<>(grammar.states());
        this.computeNanos = computeNanos;
        this.computed = computed;
    }

    Grammar grammar() {
        return grammar;
    }

    TokenVocabulary vocabulary() {
        return vocab;
    }

    /** The tokens allowed in {@code state} after at least one generated token. */
    Mask at(int state) {
        Mask m = byState.get(state);
        if (m == null) {
            long t0 = System.nanoTime();
            long[] bits = new long[words()];
            int count = trie.allowedFrom(grammar, state, bits);
            m = finish(bits, count, state);
            byState.set(state, m);
            record(t0);
        }
        return m;
    }

    /**
     * The tokens allowed as the first generated token: as {@link #at at(START)}, except that a token starting with a
     * space is judged without it when the decoder strips the text's leading space.
     */
    Mask first() {
        Mask m = first;
        if (m == null) {
            if (!vocab.stripsLeadingSpace()) {
                m = at(Grammar.START);
            } else {
                long t0 = System.nanoTime();
                long[] bits = at(Grammar.START).bits().clone();
                for (int id = 0; id < vocab.size(); id++) {
                    byte[] b = vocab.bytes(id);
                    if (b != null && b.length > 0 && b[0] == ' ') {
                        byte[] stripped = vocab.firstBytes(id);
                        boolean ok = grammar.walk(Grammar.START, stripped, 0, stripped.length) >= 0;
                        if (ok) {
                            bits[id >>> 6] |= 1L << id;
                        } else {
                            bits[id >>> 6] &= ~(1L << id);
                        }
                    }
                }
                int count = 0;
                for (long w : bits) {
                    count += Long.bitCount(w);
                }
                // at(START) set EOS already if START accepts; the count above includes it
                m = finish(bits, count - (hasEos(bits) ? 1 : 0), Grammar.START);
                record(t0);
            }
            first = m;
        }
        return m;
    }

    private boolean hasEos(long[] bits) {
        int eos = vocab.eosId();
        return eos >= 0 && (bits[eos >>> 6] & (1L << eos)) != 0;
    }

    /** Adds EOS in accepting states and finds a forced token. {@code count} does not include EOS. */
    private Mask finish(long[] bits, int count, int state) {
        int eos = vocab.eosId();
        if (eos >= 0) {
            if (grammar.accepts(state)) {
                bits[eos >>> 6] |= 1L << eos;
                count++;
            } else {
                bits[eos >>> 6] &= ~(1L << eos);
            }
        }
        int only = -1;
        if (count == 1) {
            for (int w = 0; w < bits.length; w++) {
                if (bits[w] != 0) {
                    only = w * 64 + Long.numberOfTrailingZeros(bits[w]);
                    break;
                }
            }
        }
        return new Mask(bits, count, only);
    }

    private int words() {
        return (vocab.size() + 63) >>> 6;
    }

    private void record(long t0) {
        computeNanos.addAndGet(System.nanoTime() - t0);
        computed.incrementAndGet();
    }
}
