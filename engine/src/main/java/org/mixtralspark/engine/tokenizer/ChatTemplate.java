package org.mixtralspark.engine.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * Renders chat messages ({@code [{"role": "user", "content": "..."}, ...]}) into the prompt text a model was
 * trained on. The text includes the BOS token's text when the template writes it (Mixtral's does: {@code <s>}).
 */
public interface ChatTemplate {

    /**
     * @param messages            role/content maps, in order
     * @param addGenerationPrompt whether to open an assistant turn at the end (templates that know the flag)
     * @throws IllegalArgumentException with the template's own message when it rejects the messages
     *                                  (e.g. roles that do not alternate)
     */
    String render(List<Map<String, String>> messages, boolean addGenerationPrompt);
}
