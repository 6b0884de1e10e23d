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
        RopeScaling ropeScaling = ropeScaling(root, configJson);
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
                    ropeTheta(root),
                    root.hasNonNull("rms_norm_eps") ? (float) root.get("rms_norm_eps").asDouble() : 1e-6f,
                    context, slidingWindow, ropeScaling);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(configJson, e.getMessage(), e);
        }
    }

    /** {@code rope_theta}, or transformers 5's {@code rope_parameters.rope_theta}; 10000 when neither is there. */
    private static double ropeTheta(JsonNode root) {
        if (root.hasNonNull("rope_theta")) {
            return root.get("rope_theta").asDouble();
        }
        JsonNode params = root.get("rope_parameters");
        return params != null && params.hasNonNull("rope_theta") ? params.get("rope_theta").asDouble() : 10000.0;
    }

    /**
     * {@code rope_scaling} (transformers 4) or {@code rope_parameters} (transformers 5), with the kind in
     * {@code rope_type} (or the older {@code type}): {@code default}, {@code linear} and {@code llama3} are read; any
     * other kind ({@code dynamic}, {@code yarn}, {@code longrope}, ...) is refused by name rather than run unscaled.
     * {@code dynamic} is refused because transformers recomputes its frequencies from each sequence's current length,
     * which a paged cache shared by sequences of every length (and by prefix caching) cannot follow.
     */
    private static RopeScaling ropeScaling(JsonNode root, Path file) {
        String key = root.hasNonNull("rope_scaling") ? "rope_scaling" : "rope_parameters";
        JsonNode scaling = root.get(key);
        if (scaling == null || scaling.isNull()) {
            return RopeScaling.none();
        }
        if (!scaling.isObject()) {
            throw new ModelFormatException(file, key + " = " + scaling + ": must be an object or null");
        }
        String typeKey = scaling.has("rope_type") ? "rope_type" : "type";
        JsonNode typeNode = scaling.get(typeKey);
        String type = typeNode == null || typeNode.isNull() ? "default" : typeNode.asText();
        if (typeNode != null && !typeNode.isNull() && !typeNode.isTextual()) {
            throw new ModelFormatException(file, key + "." + typeKey + " = " + typeNode + ": must be a string");
        }
        try {
            return switch (type) {
                case "default" -> RopeScaling.none();
                case "linear" -> RopeScaling.linear(number(scaling, key, "factor", file));
                case "llama3" -> RopeScaling.llama3(number(scaling, key, "factor", file),
                        number(scaling, key, "low_freq_factor", file),
                        number(scaling, key, "high_freq_factor", file),
                        integer(scaling, "original_max_position_embeddings", file, key + "."));
                default -> throw new ModelFormatException(file, key + "." + typeKey + " = \"" + type
                        + "\": this RoPE scaling is not supported (supported: default, linear, llama3)");
            };
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
    }

    private static double number(JsonNode obj, String parent, String key, Path file) {
        JsonNode n = obj.get(key);
        if (n == null || !n.isNumber()) {
            throw new ModelFormatException(file, "key " + parent + "." + key + " is missing or not a number: " + n);
        }
        return n.asDouble();
    }

    private static String text(JsonNode root, String key, Path file) {
        JsonNode n = root.get(key);
        if (n == null || !n.isTextual()) {
            throw new ModelFormatException(file, "key " + key + " is missing or not a string");
        }
        return n.asText();
    }

    private static int integer(JsonNode root, String key, Path file) {
        return integer(root, key, file, "");
    }

    private static int integer(JsonNode root, String key, Path file, String parent) {
        JsonNode n = root.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new ModelFormatException(file, "key " + parent + key + " is missing or not an int: " + n);
        }
        return n.asInt();
    }
}
