package org.mixtralspark.engine.tokenizer;

import java.util.OptionalInt;

/**
 * Text to token ids and back, for one model's vocabulary. Never truncates: length limits are the caller's.
 * Implementations are thread-safe.
 */
public interface Tokenizer extends AutoCloseable {

    /**
     * Token ids of {@code text}; with {@code addBos}, the BOS id first. Behaves like Hugging Face
     * {@code tokenizer(text, add_special_tokens=addBos)}: the text of a special token ({@code <s>}, {@code </s>})
     * inside {@code text} becomes that token, so a rendered chat template is encoded with {@code addBos = false}.
     */
    int[] encode(String text, boolean addBos);

    /** Token ids of {@code text}, with BOS first when the model's tokenizer config says to add it. */
    default int[] encode(String text) {
        return encode(text, addBosByDefault());
    }

    /** The text of these ids, special tokens (BOS, EOS, UNK) skipped, byte-fallback tokens joined into UTF-8. */
    String decode(int[] ids);

    /** A decoder that turns generated ids into text one id at a time, never splitting a UTF-8 character. */
    StreamingDecoder streamingDecoder();

    int vocabSize();

    int bosId();

    int eosId();

    /** Whether {@link #encode(String)} adds BOS (tokenizer.ggml.add_bos_token, or the HF post-processor). */
    boolean addBosByDefault();

    /**
     * Whether {@code id} is a special token ({@code <unk>}, {@code <s>}, {@code </s>}, control tokens): it has no text,
     * and decoding skips it. The default (none) suits vocabularies without special tokens; {@link HfTokenizer}, the
     * tokenizer of every model, overrides it.
     */
    default boolean isSpecial(int id) {
        return false;
    }

    /**
     * The most UTF-8 bytes of input text one token can stand for, when the tokenizer can say: a text of {@code b}
     * bytes then has at least {@code ceil(b / bound)} tokens (BOS not counted), which lets a caller reject a prompt
     * that cannot fit without tokenizing it. Empty (the default) when no such bound is known.
     */
    default OptionalInt maxTextBytesPerToken() {
        return OptionalInt.empty();
    }

    /** The piece of one id as stored in the vocabulary (e.g. {@code "▁the"}, {@code "<0x0A>"}), for display. */
    String piece(int id);

    @Override
    void close();
}
