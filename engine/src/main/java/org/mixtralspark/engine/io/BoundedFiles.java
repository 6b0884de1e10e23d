package org.mixtralspark.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the small text files of a model folder ({@code config.json}, {@code tokenizer.json},
 * {@code tokenizer_config.json}, the safetensors index) with a size cap. The cap is enforced on the bytes actually
 * read, not on what {@link Files#size} says, so a file that never ends (a pipe, {@code /dev/zero} behind a link, a
 * file still growing) fails with a clear message instead of an {@code OutOfMemoryError}.
 */
public final class BoundedFiles {

    private BoundedFiles() {
    }

    /**
     * The file's text, decoded as strict UTF-8.
     *
     * @param what     what the file is, for the message (e.g. "tokenizer.json")
     * @param maxBytes the most bytes a real file of this kind needs (the caller says why)
     * @throws ModelFormatException when the file is longer than {@code maxBytes} or not valid UTF-8 (naming the file)
     * @throws UncheckedIOException when it cannot be read
     */
    public static String readUtf8(Path file, String what, long maxBytes) {
        byte[] bytes = read(file, what, maxBytes);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(file, what + " is not valid UTF-8 text");
        }
    }

    /** The file's bytes; the same limit and errors as {@link #readUtf8}. */
    public static byte[] read(Path file, String what, long maxBytes) {
        if (maxBytes < 0 || maxBytes >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxBytes = " + maxBytes + ": must be in [0, 2^31 - 1)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes((int) maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw new ModelFormatException(file, what + " is larger than the limit of " + maxBytes
                        + " bytes (no real " + what + " is that large; is it the right file?)");
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
