package org.mixtralspark.engine.tokenizer;

/** The default chat template (Mixtral-Instruct), and the choice between a model's own template and that default. */
public final class ChatTemplates {

    private static final String BUILT_IN = "(built-in Mixtral-Instruct template)";

    /**
     * The chat template of Mixtral-8x7B-Instruct-v0.1 ({@code tokenizer_config.json}, Dec-2023 revision): BOS, then
     * {@code [INST] user [/INST]} and {@code assistant</s>} turns, which must alternate starting with the user.
     */
    public static final String MIXTRAL_INSTRUCT_SOURCE = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
            + "{% endif %}{% endfor %}";

    /** {@link #MIXTRAL_INSTRUCT_SOURCE} with Mixtral's {@code <s>} and {@code </s>}: the default template. */
    public static final JinjaChatTemplate MIXTRAL_INSTRUCT =
            new JinjaChatTemplate(MIXTRAL_INSTRUCT_SOURCE, "<s>", "</s>", BUILT_IN);

    private ChatTemplates() {
    }

    /**
     * The model's own template when it has one, else the Mixtral-Instruct template; either way with the model's
     * BOS/EOS texts (null falls back to {@code <s>} / {@code </s>}).
     *
     * @param modelTemplate {@code chat_template} of {@code tokenizer_config.json}, or the GGUF metadata value
     *                      {@code tokenizer.chat_template}; null or blank when the model has none
     * @throws IllegalArgumentException when the model's template does not parse (a
     *                                  {@link org.mixtralspark.engine.tokenizer.jinja.TemplateException})
     */
    public static JinjaChatTemplate forModel(String modelTemplate, String bosToken, String eosToken) {
        return forModel(modelTemplate, bosToken, eosToken, "(model chat template)");
    }

    /**
     * {@link #forModel(String, String, String)}, naming where the model's template came from in every error.
     *
     * @param origin e.g. {@code /models/m/tokenizer_config.json (chat_template)}
     */
    public static JinjaChatTemplate forModel(String modelTemplate, String bosToken, String eosToken, String origin) {
        String bos = bosToken == null ? "<s>" : bosToken;
        String eos = eosToken == null ? "</s>" : eosToken;
        if (modelTemplate == null || modelTemplate.isBlank()) {
            return "<s>".equals(bos) && "</s>".equals(eos)
                    ? MIXTRAL_INSTRUCT : new JinjaChatTemplate(MIXTRAL_INSTRUCT_SOURCE, bos, eos, BUILT_IN);
        }
        return new JinjaChatTemplate(modelTemplate, bos, eos, origin);
    }

    /**
     * The template a {@code tokenizer_config.json} names (with its {@code bos_token}/{@code eos_token}), else
     * {@code fallback}.
     */
    public static ChatTemplate fromTokenizerConfig(String tokenizerConfigJson, ChatTemplate fallback) {
        HfTokenizerConfig config = HfTokenizerConfig.parse(tokenizerConfigJson);
        if (config.chatTemplate() == null || config.chatTemplate().isBlank()) {
            return fallback;
        }
        return forModel(config.chatTemplate(), config.bosToken(), config.eosToken());
    }
}
