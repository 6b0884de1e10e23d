package org.mixtralspark.engine.tokenizer;

import org.mixtralspark.engine.tokenizer.jinja.JinjaLimits;
import org.mixtralspark.engine.tokenizer.jinja.JinjaTemplate;
import org.mixtralspark.engine.tokenizer.jinja.TemplateException;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template (the {@code chat_template} Jinja string of {@code tokenizer_config.json} or GGUF's
 * {@code tokenizer.chat_template}), rendered as transformers' {@code apply_chat_template} renders it, in a sandbox.
 *
 * <p>The template is untrusted code from a model folder. It runs in {@link JinjaTemplate}: no Java object in reach
 * (only the messages, copied as plain strings, numbers, lists and maps), no includes or imports, and bounded time,
 * output, memory and nesting ({@link JinjaLimits}). Variables as transformers binds them: {@code messages},
 * {@code tools} and {@code documents} (None unless given), {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}, and the {@code raise_exception(msg)} function.
 *
 * <p>Every failure is a {@link TemplateException} (an {@link IllegalArgumentException}) naming the template's origin:
 * at construction when it does not parse, at {@link #render} when it rejects the messages ({@code raise_exception},
 * whose message leads), fails, or reaches a limit. Thread-safe.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final JinjaTemplate template;

    /**
     * @param source   the Jinja template
     * @param bosToken the text bound to {@code bos_token} (Mixtral: {@code <s>}); null binds an empty string
     * @param eosToken the text bound to {@code eos_token} (Mixtral: {@code </s>}); null binds an empty string
     * @param origin   where the template came from, named in every error (a file and key)
     * @throws TemplateException when the template does not parse or uses what a chat template may not
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken, String origin) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.template = JinjaTemplate.parse(source, origin, JinjaLimits.DEFAULT);
    }

    /** A template of no particular file (tests, built-in defaults). */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this(source, bosToken, eosToken, "(inline template)");
    }

    /** The Jinja source of this template. */
    public String source() {
        return source;
    }

    /** Where the template came from, as its errors name it. */
    public String origin() {
        return template.origin();
    }

    @Override
    public String render(List<Map<String, String>> messages, boolean addGenerationPrompt) {
        return render(messages, null, addGenerationPrompt);
    }

    /**
     * Renders messages that may carry more than a role and a content (tool calls, tool results: strings, numbers,
     * booleans, lists and maps), with the tools the model may call (OpenAI-style function schemas), as
     * {@code apply_chat_template(messages, tools=tools)} does.
     *
     * @param tools null when there are none (the template then sees {@code tools} as None)
     */
    public String render(List<? extends Map<String, ?>> messages, List<? extends Map<String, ?>> tools,
                         boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        for (Map<String, ?> m : messages) {
            Objects.requireNonNull(m, "a message is null");
        }
        Map<String, Object> variables = new HashMap<>();
        variables.put("messages", messages);
        variables.put("tools", tools);
        variables.put("documents", null);
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.put("bos_token", bosToken);
        variables.put("eos_token", eosToken);
        return template.render(variables);
    }
}
