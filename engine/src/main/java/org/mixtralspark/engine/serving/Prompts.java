package org.mixtralspark.engine.serving;

import java.util.List;
import java.util.Map;

/**
 * Turns what users write (plain text, chat messages) into prompt token ids, the same way for every caller: the CLI,
 * the Spark job and the Transformer all come through here. Whether the ids then fit the context is
 * {@link org.mixtralspark.engine.sampling.ContextLimit}'s to say.
 */
public final class Prompts {

    private Prompts() {
    }

    /** Plain text: tokenized with BOS when the model's tokenizer adds it. */
    public static int[] fromText(Engine engine, String text) {
        if (text == null) {
            throw new IllegalArgumentException("the prompt is null");
        }
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
}
