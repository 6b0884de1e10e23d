package org.mixtralspark.engine.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A Hugging Face chat template (the {@code chat_template} Jinja string of {@code tokenizer_config.json} or GGUF's
 * {@code tokenizer.chat_template}) rendered by jinjava.
 *
 * <p>Rendered the way transformers' {@code apply_chat_template} does: {@code trim_blocks} and {@code lstrip_blocks}
 * on; variables {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}; and a
 * {@code raise_exception(msg)} function whose message comes out as this class's {@link IllegalArgumentException}
 * (without it jinjava reports only "Could not resolve function", hiding the template's reason).
 *
 * <p>Thread-safe: each render runs in its own jinjava interpreter.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    /** The message of the template's {@code raise_exception} during the render on this thread, if it called it. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param source   the Jinja template
     * @param bosToken the text bound to {@code bos_token} (Mixtral: {@code <s>}); null binds an empty string
     * @param eosToken the text bound to {@code eos_token} (Mixtral: {@code </s>}); null binds an empty string
     * @throws IllegalArgumentException when the template does not parse, with jinjava's messages
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .build());
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", String.class));
        checkSyntax();
    }

    /** The Jinja source of this template. */
    public String source() {
        return source;
    }

    @Override
    public String render(List<Map<String, String>> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        List<Map<String, String>> copy = new ArrayList<>(messages.size());
        for (Map<String, String> m : messages) {
            copy.add(new HashMap<>(Objects.requireNonNull(m, "a message is null")));
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", copy);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        RenderResult result;
        RAISED.remove();
        try {
            result = jinjava.renderForResult(source, bindings);
        } finally {
            String raised = RAISED.get();
            RAISED.remove();
            if (raised != null) {
                throw new IllegalArgumentException(raised);
            }
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!fatal.isEmpty()) {
            throw new IllegalArgumentException("chat template failed: " + describe(fatal));
        }
        return result.getOutput();
    }

    /**
     * The template's {@code raise_exception(msg)}: remembers the message for {@link #render} and stops the render.
     * Public only because jinjava invokes it reflectively.
     */
    public static String raiseException(String message) {
        if (RAISED.get() == null) {
            RAISED.set(message);
        }
        throw new IllegalArgumentException(message);
    }

    private void checkSyntax() {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        interpreter.parse(source);
        List<TemplateError> errors = interpreter.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("chat template does not parse: " + describe(errors));
        }
    }

    private static String describe(List<TemplateError> errors) {
        return errors.stream()
                .map(e -> e.getMessage() + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""))
                .collect(Collectors.joining("; "));
    }
}
