package org.mixtralspark.engine.serving;

import java.util.List;
import java.util.Map;

/** Turns what users write (plain text, chat messages) into prompt token ids, the same way for every caller. */
public final class Prompts {

    private Prompts() {
    }

    /** Plain text: tokenized with BOS when the model's tokenizer adds it. */
    public static int[] fromText(Engine engine, String text) {
        return engine.tokenizer().encode(text);
    }

    /**
     * Chat messages: rendered with the model's chat template (which writes BOS itself, as Mixtral's does), with the
     * generation prompt opened, then tokenized without adding another BOS.
     *
     * @throws IllegalArgumentException when the template rejects the messages (e.g. roles that do not alternate)
     */
    public static int[] fromMessages(Engine engine, List<Map<String, String>> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new IllegalArgumentException("messages: at least one message is needed");
        }
        for (Map<String, String> m : messages) {
            if (m == null || m.get("role") == null || m.get("content") == null) {
                throw new IllegalArgumentException("messages: every message needs a role and a content: " + m);
            }
        }
        String text = engine.chatTemplate().render(messages, true);
        return engine.tokenizer().encode(text, false);
    }
}
