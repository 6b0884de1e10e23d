package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.mixtralspark.engine.io.JsonErrors;

/**
 * What a tokenizer needs besides {@code tokenizer.json}: the fields of an HF {@code tokenizer_config.json} that
 * matter here, or their GGUF equivalents ({@code tokenizer.ggml.add_bos_token}, the texts of the BOS/EOS ids,
 * {@code tokenizer.chat_template}). Every field may be null: "not said", and the tokenizer then works it out from
 * {@code tokenizer.json} itself.
 *
 * @param addBosToken  whether {@link Tokenizer#encode(String)} starts with BOS
 * @param bosToken     the text of the BOS token, e.g. {@code <s>}
 * @param eosToken     the text of the EOS token, e.g. {@code </s>}
 * @param chatTemplate the Jinja chat template
 */
public record HfTokenizerConfig(Boolean addBosToken, String bosToken, String eosToken, String chatTemplate) {

    /** Nothing said: everything comes from {@code tokenizer.json}. */
    public static final HfTokenizerConfig NONE = new HfTokenizerConfig(null, null, null, null);

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads the fields from the text of a {@code tokenizer_config.json}. A token may be written as a string or, as
     * in older files, as an {@code AddedToken} object with a {@code content} field; a chat template may be a string
     * or a list of named templates (the one named {@code default} is taken).
     *
     * @throws IllegalArgumentException when the text is not a JSON object
     */
    public static HfTokenizerConfig parse(String tokenizerConfigJson) {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerConfigJson);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("tokenizer_config.json is not valid JSON: " + JsonErrors.oneLine(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("tokenizer_config.json is not a JSON object");
        }
        JsonNode addBos = root.get("add_bos_token");
        return new HfTokenizerConfig(
                addBos != null && addBos.isBoolean() ? addBos.booleanValue() : null,
                tokenText(root.get("bos_token")),
                tokenText(root.get("eos_token")),
                chatTemplate(root.get("chat_template")));
    }

    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        JsonNode content = node.get("content");
        return content != null && content.isTextual() ? content.textValue() : null;
    }

    private static String chatTemplate(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isArray()) {
            // transformers' named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText(null)) && named.path("template").isTextual()) {
                    return named.get("template").textValue();
                }
            }
        }
        return null;
    }
}
