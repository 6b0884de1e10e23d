package org.mixtralspark.engine.serving;

import java.nio.file.Path;

/**
 * A short description of a loaded model, for logs, summaries and output rows.
 *
 * @param path          the model file or folder
 * @param name          a display name (GGUF {@code general.name}, or the folder name)
 * @param format        "gguf" or "safetensors"
 * @param contextLength the longest sequence (prompt + generation) the engine accepts
 * @param vocabSize     vocabulary size
 * @param device        where it runs: "cpu" or "cuda:N"
 */
public record ModelDescription(Path path, String name, String format, int contextLength, int vocabSize, String device) {
}
