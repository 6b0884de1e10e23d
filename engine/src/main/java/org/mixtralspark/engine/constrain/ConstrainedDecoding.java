package org.mixtralspark.engine.constrain;

import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Structured output for one engine's tokenizer: builds the vocabulary's byte strings and trie once (on first use:
 * an engine that never sees a response format never pays for them), and keeps the token masks of each grammar in use,
 * so that every request with the same format shares its cached masks. The masks of the {@value #GRAMMARS} grammars
 * used last are kept (a request in flight keeps its own through its {@link TokenConstraint}); a weak map would
 * keep them all, since the masks refer to their grammar. Thread-safe.
 */
public final class ConstrainedDecoding {

    private final Tokenizer tokenizer;
    private final int vocabSize;
    private volatile TokenVocabulary vocab;
    private volatile TokenTrie trie;
    static final int GRAMMARS = 64;

    private final Map<Grammar, TokenMasks> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Grammar, TokenMasks> eldest) {
            return size() > GRAMMARS;
        }
    };
    private final AtomicLong maskNanos = new AtomicLong();
    private final AtomicLong masksComputed = new AtomicLong();

    /** @param vocabSize the model's vocabulary (its logits' length; ids past the tokenizer's are never allowed) */
    public ConstrainedDecoding(Tokenizer tokenizer, int vocabSize) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
    }

    /** The constraint of a new request with this format and these stop token ids. */
    public TokenConstraint start(ResponseFormat format, int[] stopTokenIds) {
        TokenMasks m;
        synchronized (masks) {
            m = masks.get(format.grammar());
            if (m == null) {
                m = new TokenMasks(format.grammar(), vocabulary(), trie, maskNanos, masksComputed);
                masks.put(format.grammar(), m);
            }
        }
        return new TokenConstraint(m, stopTokenIds);
    }

    /** The vocabulary's byte strings (built on first call). */
    public TokenVocabulary vocabulary() {
        if (vocab == null) {
            synchronized (this) {
                if (vocab == null) {
                    TokenVocabulary v = TokenVocabulary.of(tokenizer, vocabSize);
                    trie = new TokenTrie(collect(v));
                    vocab = v;
                }
            }
        }
        return vocab;
    }

    private static byte[][] collect(TokenVocabulary v) {
        byte[][] b = new byte[v.size()][];
        for (int id = 0; id < b.length; id++) {
            b[id] = v.bytes(id);
        }
        return b;
    }

    /** Time spent computing masks so far (each state's mask once), and how many were computed. */
    public long maskComputeNanos() {
        return maskNanos.get();
    }

    public long masksComputed() {
        return masksComputed.get();
    }
}
