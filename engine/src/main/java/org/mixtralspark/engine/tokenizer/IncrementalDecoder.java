package org.mixtralspark.engine.tokenizer;

import java.util.Arrays;

/**
 * Streams the text of generated ids by decoding a short sliding window, as text-generation-inference's
 * {@code decode_token} does: the window holds the tokens of the last emitted piece of text (the "prefix") plus the
 * tokens not emitted yet; what the window decodes to beyond the prefix's own text is new. Decoding a window rather
 * than single tokens keeps every decoder rule intact: SentencePiece's {@code ▁} becomes a space, and the one
 * leading space {@code Strip} removes is removed from both texts alike, so only the very first token of the stream
 * loses it, exactly as in a one-shot decode. Text ending in U+FFFD is held back: a byte-fallback character whose
 * bytes are not all there yet.
 *
 * <p>Special tokens are dropped on arrival, because one-shot {@code decode} filters them out before its decoder
 * runs; letting one open a window would strip the space of the token after it.
 *
 * <p>The concatenation of every {@code push} and {@code flush} equals {@link HfTokenizer#decode(int[])} of all ids
 * whenever the byte-fallback tokens form valid UTF-8 (always so for the ids of a real text). For an invalid byte
 * run, HF's {@code ByteFallback} turns the whole run into one U+FFFD per byte, including valid characters in it that
 * this decoder may already have emitted; the stream then shows those characters and fewer U+FFFD.
 *
 * <p>One instance per sequence; not thread-safe.
 */
final class IncrementalDecoder implements StreamingDecoder {

    private static final char REPLACEMENT = '\uFFFD';

    private final HfTokenizer tokenizer;
    private int[] ids = new int[32];
    private int size;
    private int prefixOffset;   // window start: first token of the last emitted text
    private int readOffset;     // first token not yet emitted

    IncrementalDecoder(HfTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    @Override
    public String push(int tokenId) {
        if (tokenizer.isSpecial(tokenId)) {
            return "";
        }
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = tokenId;
        String prefixText = decode(prefixOffset, readOffset);
        String newText = decode(prefixOffset, size);
        if (newText.length() > prefixText.length() && newText.charAt(newText.length() - 1) != REPLACEMENT) {
            return emit(prefixText, newText);
        }
        return "";
    }

    @Override
    public String flush() {
        if (readOffset == size) {
            return "";
        }
        String prefixText = decode(prefixOffset, readOffset);
        String newText = decode(prefixOffset, size);
        return emit(prefixText, newText);
    }

    private String emit(String prefixText, String newText) {
        prefixOffset = readOffset;
        readOffset = size;
        compact();
        // newText starts with prefixText unless an invalid byte run re-decoded to U+FFFD (see class comment).
        return newText.substring(Math.min(prefixText.length(), newText.length()));
    }

    /** Drops the tokens before the window, so a long generation keeps a short array. */
    private void compact() {
        if (prefixOffset >= 256) {
            System.arraycopy(ids, prefixOffset, ids, 0, size - prefixOffset);
            size -= prefixOffset;
            readOffset -= prefixOffset;
            prefixOffset = 0;
        }
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to), true);
    }
}
