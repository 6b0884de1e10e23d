package org.mixtralspark.engine.model;

import org.mixtralspark.engine.io.TensorSource;

import java.nio.file.Path;
import java.util.Map;

/**
 * A model opened from disk: its configuration, its weights (views of the mapped files) and where they came from.
 *
 * @param path     the GGUF file or HF folder
 * @param format   "gguf" or "safetensors"
 * @param name     display name
 * @param config   hyper-parameters
 * @param weights  the weights
 * @param source   the open files (closed with this model)
 * @param metadata GGUF metadata (empty for HF folders), for the tokenizer and chat template
 */
public record LoadedModel(Path path, String format, String name, MixtralConfig config, MixtralWeights weights,
                          TensorSource source, Map<String, Object> metadata) implements AutoCloseable {

    @Override
    public void close() {
        source.close();
    }
}
