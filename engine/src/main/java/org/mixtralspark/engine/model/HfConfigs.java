package org.mixtralspark.engine.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.mixtralspark.engine.io.BoundedFiles;
import org.mixtralspark.engine.io.JsonErrors;
import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Path;
import java.util.Set;

/** Reads a Hugging Face {@code config.json} (MixtralConfig, MistralConfig or LlamaConfig) into a {@link MixtralConfig}. */
public final class HfConfigs {

    private static final Set<String> MODEL_TYPES = Set.of("mixtral", "mistral", "llama");
    /** A real config.json is 1-3 KB (with a RoPE table or label maps, tens of KB): 1 MiB is generous. */
    static final long MAX_CONFIG_BYTES = 1 << 20;

    private HfConfigs() {
    }

    public static MixtralConfig read(Path configJson) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(BoundedFiles.readUtf8(configJson, "config.json", MAX_CONFIG_BYTES));
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(configJson, "config.json is not valid JSON: " + JsonErrors.oneLine(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(configJson, "config.json is not a JSON object");
        }
        String type = text(root, "model_type", configJson);
        if (!MODEL_TYPES.contains(type)) {
            throw new ModelFormatException(configJson, "model_type = " + type + ": supported are " + MODEL_TYPES);
        }
        JsonNode scaling = root.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new ModelFormatException(configJson, "rope_scaling = " + scaling + ": RoPE scaling is not supported");
        }
        int dim = integer(root, "hidden_size", configJson);
        int heads = integer(root, "num_attention_heads", configJson);
        int headDim = root.hasNonNull("head_dim") ? integer(root, "head_dim", configJson)
                : MixtralConfig.headDimOf(dim, heads, configJson,
                        "hidden_size", "num_attention_heads", "head_dim");
        int context = integer(root, "max_position_embeddings", configJson);
        // Sliding-window attention (Mistral-7B v0.1: 4096): each token attends to the window's last positions only.
        // A window as long as the context (or null, as Mixtral's config has it) is full attention.
        JsonNode window = root.get("sliding_window");
        int slidingWindow = 0;
        if (window != null && window.isNumber() && window.asInt() > 0 && window.asInt() < context) {
            slidingWindow = window.asInt();
        }
        try {
            return new MixtralConfig(
                    integer(root, "vocab_size", configJson),
                    dim,
                    integer(root, "intermediate_size", configJson),
                    integer(root, "num_hidden_layers", configJson),
                    heads,
                    root.hasNonNull("num_key_value_heads") ? integer(root, "num_key_value_heads", configJson) : heads,
                    headDim,
                    root.hasNonNull("num_local_experts") ? integer(root, "num_local_experts", configJson) : 1,
                    root.hasNonNull("num_experts_per_tok") ? integer(root, "num_experts_per_tok", configJson) : 1,
                    root.hasNonNull("rope_theta") ? root.get("rope_theta").asDouble() : 10000.0,
                    root.hasNonNull("rms_norm_eps") ? (float) root.get("rms_norm_eps").asDouble() : 1e-6f,
                    context, slidingWindow);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(configJson, e.getMessage(), e);
        }
    }

    private static String text(JsonNode root, String key, Path file) {
        JsonNode n = root.get(key);
        if (n == null || !n.isTextual()) {
            throw new ModelFormatException(file, "key " + key + " is missing or not a string");
        }
        return n.asText();
    }

    private static int integer(JsonNode root, String key, Path file) {
        JsonNode n = root.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new ModelFormatException(file, "key " + key + " is missing or not an int: " + n);
        }
        return n.asInt();
    }
}
