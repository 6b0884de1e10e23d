package org.mixtralspark.engine.constrain;

import java.util.Arrays;

/**
 * One request's position in its grammar while it generates: which tokens may come next ({@link #allowed()}) and the
 * state after each generated token ({@link #accept}). The end of generation (EOS, or one of the request's stop token
 * ids) is allowed only where the text so far is complete, so a sequence that stops by itself always holds an accepted
 * text. One per request, used by one thread at a time.
 */
public final class TokenConstraint {

    private final TokenMasks masks;
    private final int[] stopTokenIds;
    private int state = Grammar.START;
    private boolean first = true;

    TokenConstraint(TokenMasks masks, int[] stopTokenIds) {
        this.masks = masks;
        this.stopTokenIds = stopTokenIds.clone();
    }

    /**
     * The tokens allowed next, as a bitset over token ids (do not modify it: it may be shared).
     *
     * @throws IllegalStateException when no token of the vocabulary can continue the text (a grammar that needs a
     *                               byte no token spells); the request cannot go on
     */
    public TokenMasks.Mask allowed() {
        TokenMasks.Mask m = first ? masks.first() : masks.at(state);
        if (m.count() == 0) {
            throw new IllegalStateException("response_format: no token of the vocabulary can continue the text here");
        }
        if (stopTokenIds.length == 0) {
            return m;
        }
        // stop ids end generation: allowed exactly where EOS is (a copy, since the cached mask is shared)
        long[] bits = m.bits().clone();
        boolean complete = masks.grammar().accepts(state);
        for (int id : stopTokenIds) {
            if (id >= 0 && id < masks.vocabulary().size()) {
                if (complete) {
                    bits[id >>> 6] |= 1L << id;
                } else {
                    bits[id >>> 6] &= ~(1L << id);
                }
            }
        }
        int count = 0;
        int only = -1;
        for (int w = 0; w < bits.length; w++) {
            count += Long.bitCount(bits[w]);
            if (bits[w] != 0 && only < 0) {
                only = w * 64 + Long.numberOfTrailingZeros(bits[w]);
            }
        }
        if (count == 0) {
            throw new IllegalStateException("response_format: no token of the vocabulary can continue the text here");
        }
        return new TokenMasks.Mask(bits, count, count == 1 ? only : -1);
    }

    /**
     * Moves past a generated token (one {@link #allowed()} allowed).
     *
     * @throws IllegalArgumentException if the grammar does not allow it here
     */
    public void accept(int token) {
        if (token == masks.vocabulary().eosId() || Arrays.stream(stopTokenIds).anyMatch(id -> id == token)) {
            if (!masks.grammar().accepts(state)) {
                throw new IllegalArgumentException("token " + token + " ends the text where the response format is"
                        + " not complete");
            }
            return;
        }
        byte[] bytes = first ? masks.vocabulary().firstBytes(token) : masks.vocabulary().bytes(token);
        int next = bytes == null ? -1 : masks.grammar().walk(state, bytes, 0, bytes.length);
        if (next < 0) {
            throw new IllegalArgumentException("token " + token + " is not allowed by the response format here");
        }
        state = next;
        first = false;
    }

    /** Whether the text so far is an accepted text (generation may end here). */
    public boolean complete() {
        return masks.grammar().accepts(state);
    }
}
