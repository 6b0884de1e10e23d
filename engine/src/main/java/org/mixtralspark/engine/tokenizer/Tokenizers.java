package org.mixtralspark.engine.tokenizer;

import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Opens the tokenizer of a model, whatever form the model comes in. */
public final class Tokenizers {

    private static final byte[] GGUF_MAGIC = "GGUF".getBytes(StandardCharsets.US_ASCII);

    private Tokenizers() {
    }

    /**
     * The tokenizer of {@code path}:
     * <ul>
     *   <li>a folder: its {@code tokenizer.json}, with {@code tokenizer_config.json} when present
     *       (an HF checkpoint);</li>
     *   <li>a GGUF file (by its magic bytes): the vocabulary in its metadata ({@link GgufTokenizers});</li>
     *   <li>any other file: a {@code tokenizer.json}, with the {@code tokenizer_config.json} beside it.</li>
     * </ul>
     *
     * @throws ModelFormatException     when a GGUF file is unusable or holds no supported tokenizer (naming file
     *                                  and key)
     * @throws IllegalArgumentException when a folder has no {@code tokenizer.json}, or a JSON file is not a tokenizer
     * @throws UncheckedIOException     when a file cannot be read
     */
    public static HfTokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            // exists, not isRegularFile: a pipe or device named tokenizer.json is read (up to its size limit) and
            // refused for what it holds, not reported missing
            if (!Files.exists(path.resolve("tokenizer.json"))) {
                throw new IllegalArgumentException(path + " has no tokenizer.json");
            }
            return HfTokenizer.load(path);
        }
        if (isGguf(path)) {
            try (GgufFile gguf = GgufFile.open(path)) {
                return GgufTokenizers.fromMetadata(gguf.metadata(),
                        path + " (" + GgufVocab.CHAT_TEMPLATE + ")");
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(path, e.getMessage(), e);
            }
        }
        return HfTokenizer.load(path);
    }

    private static boolean isGguf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(GGUF_MAGIC.length), GGUF_MAGIC);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
