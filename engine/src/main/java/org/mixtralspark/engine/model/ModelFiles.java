package org.mixtralspark.engine.model;

import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorSource;

import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.io.safetensors.SafetensorsCheckpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a model path as the right {@link TensorSource}: a GGUF file, or a Hugging Face checkpoint folder. */
public final class ModelFiles {

    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    private ModelFiles() {
    }

    /**
     * A file that starts with the GGUF magic opens as {@link GgufFile}; a folder with {@code model.safetensors} or
     * {@code model.safetensors.index.json}, or a single {@code .safetensors} file, as {@link SafetensorsCheckpoint}.
     *
     * @throws ModelFormatException when the path is neither (the message says what was found), or is unusable
     * @throws UncheckedIOException when the path cannot be read
     */
    public static TensorSource open(Path path) {
        if (Files.isDirectory(path)) {
            if (SafetensorsCheckpoint.isCheckpointFolder(path)) {
                return SafetensorsCheckpoint.open(path);
            }
            throw new ModelFormatException(path, "not a model: a folder without " + SafetensorsCheckpoint.SINGLE_FILE
                    + " or " + SafetensorsCheckpoint.INDEX_FILE + " (expected an HF checkpoint folder or a GGUF file)");
        }
        if (!Files.isRegularFile(path)) {
            throw new ModelFormatException(path, "no such file or folder (expected a GGUF file or an HF checkpoint folder)");
        }
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
        if (n == 4 && java.util.Arrays.equals(head, GGUF_MAGIC)) {
            return GgufFile.open(path);
        }
        if (path.getFileName().toString().endsWith(".safetensors")) {
            return SafetensorsCheckpoint.open(path);
        }
        StringBuilder found = new StringBuilder();
        for (int i = 0; i < n; i++) {
            found.append(String.format("%02x ", head[i]));
        }
        throw new ModelFormatException(path, "not a model: expected a GGUF file (starting with 'GGUF'), a .safetensors file "
                + "or an HF checkpoint folder; the file starts with " + (n == 0 ? "nothing (empty)" : found.toString().trim()));
    }
}
