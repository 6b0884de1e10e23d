package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.ContextLimit;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Turns what users write (plain text, chat messages) into prompt token ids, the same way for every caller: the CLI,
 * the Spark job and the Transformer all come through here. Whether the ids then fit the context is
 * {@link ContextLimit}'s to say; a text that cannot fit whatever its tokens are is rejected here, before it is
 * tokenized (tokenizing a 5 MB prompt takes seconds), by the vocabulary's bound on the text one token stands for
 * ({@link org.mixtralspark.engine.tokenizer.Tokenizer#maxTextBytesPerToken()}).
 */
public final class Prompts {

    private Prompts() {
    }

    /** Plain text: tokenized with BOS when the model's tokenizer adds it. */
    public static int[] fromText(Engine engine, String text) {
        if (text == null) {
            throw new IllegalArgumentException("the prompt is null");
        }
        rejectIfCannotFit(engine, text);
        return engine.tokenizer().encode(text);
    }

    /**
     * Chat messages: rendered with the model's chat template (which writes BOS itself, as Mixtral's does), with the
     * generation prompt opened, then tokenized without adding another BOS.
     *
     * @throws IllegalArgumentException when there are no messages, a message lacks a role or a content, the template
     *                                  rejects the messages (e.g. roles that do not alternate; its own message is
     *                                  kept), or the rendered text has no tokens
     */
    public static int[] fromMessages(Engine engine, List<Map<String, String>> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("the messages are empty: at least one message is needed");
        }
        for (Map<String, String> m : messages) {
            if (m == null || m.get("role") == null || m.get("content") == null) {
                throw new IllegalArgumentException("every message needs a role and a content: " + m);
            }
        }
        String text;
        try {
            text = engine.chatTemplate().render(messages, true);
        } catch (RuntimeException e) {
            // a template is untrusted code: whatever it throws is a message about this prompt, not a crash
            throw new IllegalArgumentException("the chat template rejected the messages: " + e.getMessage(), e);
        }
        rejectIfCannotFit(engine, text);
        int[] ids = engine.tokenizer().encode(text, false);
        if (ids.length == 0) {
            throw new IllegalArgumentException("the rendered chat prompt is empty");
        }
        return ids;
    }

    /**
     * Labels to score after a prompt ({@link LabelScoring}): each tokenized without BOS, as a continuation of the
     * prompt, so that prompt ids + label ids is the text a brute-force run scores. With a SentencePiece tokenizer
     * (Llama, Mistral, Mixtral) a label starts a new word ("positive" is scored as " positive"). A null or empty label
     * is kept as it is, for the engine to name in its error.
     */
    public static LabelScoring labels(Engine engine, List<String> labels, boolean normalize) {
        if (labels == null) {
            throw new IllegalArgumentException("labels: the list is null");
        }
        return LabelScoring.of(labels, t -> t.isEmpty() ? new int[0] : engine.tokenizer().encode(t, false),
                normalize);
    }

    /**
     * Throws when {@code text} has more tokens than the context holds whatever it says: its UTF-8 bytes over the most
     * bytes a token of this vocabulary stands for. Costs one pass over the text, and none for a text too short to
     * matter (a UTF-16 unit is at most 3 bytes).
     */
    private static void rejectIfCannotFit(Engine engine, String text) {
        OptionalInt perToken = engine.tokenizer().maxTextBytesPerToken();
        if (perToken.isEmpty()) {
            return;
        }
        long context = engine.model().contextLength();
        if (3L * text.length() < context * perToken.getAsInt()) {
            return;
        }
        long bytes = utf8Length(text);
        long minTokens = (bytes + perToken.getAsInt() - 1) / perToken.getAsInt();
        String error = ContextLimit.promptErrorAtLeast(minTokens, engine.model().contextLength(), bytes
                + " bytes of text, and a token of this vocabulary stands for at most " + perToken.getAsInt());
        if (error != null) {
            throw new IllegalArgumentException(error);
        }
    }

    /**
     * The UTF-8 length of {@code s} without encoding it. An unpaired surrogate counts 1 byte, the least any encoder
     * makes of it ('?'), so that the count never overstates the text.
     */
    static long utf8Length(CharSequence s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (!Character.isSurrogate(c)) {
                bytes += 3;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 1;
            }
        }
        return bytes;
    }
}
