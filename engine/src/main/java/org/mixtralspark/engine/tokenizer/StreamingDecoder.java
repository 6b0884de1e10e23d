package org.mixtralspark.engine.tokenizer;

/**
 * Turns generated token ids into text incrementally. {@link #push} returns the text that became final with this
 * id: a byte-fallback token in the middle of a multi-byte UTF-8 character returns "" until the character is whole;
 * SentencePiece's leading-space rule is applied as in a one-shot {@link Tokenizer#decode}. The concatenation of
 * every {@code push} plus {@link #flush} equals {@code decode(allIds)}.
 */
public interface StreamingDecoder {

    String push(int tokenId);

    /** Whatever is still held back (an incomplete UTF-8 sequence comes out as U+FFFD). */
    String flush();
}
