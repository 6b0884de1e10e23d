package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.io.ModelFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Reads the GGUF header sequentially through a small window over the file, so that a header of any size (a 150k-token
 * vocabulary is megabytes) costs neither a whole-file mapping nor a copy of the file. Every read first checks that the
 * bytes are there: a truncated header fails with the file and the item being read, never with an
 * {@code EOFException} or a buffer underflow.
 */
final class GgufHeaderReader {

    private static final int WINDOW = 1 << 16;

    private final FileChannel channel;
    private final Path file;
    private final long fileSize;
    /** No read may go past this offset: the header's own size limit. */
    private final long maxHeaderBytes;
    private final ByteBuffer window = ByteBuffer.allocate(WINDOW).order(ByteOrder.LITTLE_ENDIAN);
    /** File position of {@code window}'s element 0. */
    private long windowStart;
    /** File position of the next byte to read. */
    private long pos;

    GgufHeaderReader(FileChannel channel, Path file, long fileSize, long maxHeaderBytes) {
        this.channel = channel;
        this.file = file;
        this.fileSize = fileSize;
        this.maxHeaderBytes = maxHeaderBytes;
        this.window.limit(0);
    }

    long position() {
        return pos;
    }

    long remaining() {
        return fileSize - pos;
    }

    long fileSize() {
        return fileSize;
    }

    /** Fails unless {@code n} more bytes lie in the file; {@code what} names the item for the message. */
    void require(long n, String what) {
        if (n < 0 || n > remaining()) {
            throw new ModelFormatException(file, "truncated header: " + what + " needs " + n + " bytes at offset "
                    + pos + ", but the file has " + remaining() + " bytes left (file size " + fileSize + ")");
        }
        if (n > maxHeaderBytes - pos) {
            throw new ModelFormatException(file, "header too large: " + what + " would end at offset " + (pos + n)
                    + ", past the limit of " + maxHeaderBytes + " bytes for metadata and tensor infos");
        }
    }

    int u8(String what) {
        return fill(1, what).get() & 0xFF;
    }

    int u16(String what) {
        return fill(2, what).getShort() & 0xFFFF;
    }

    /** An uint32 or int32 as Java int (the caller decides on the sign). */
    int i32(String what) {
        return fill(4, what).getInt();
    }

    /** An uint64 or int64 as Java long (the caller decides on the sign). */
    long i64(String what) {
        return fill(8, what).getLong();
    }

    float f32(String what) {
        return fill(4, what).getFloat();
    }

    double f64(String what) {
        return fill(8, what).getDouble();
    }

    /**
     * A {@code gguf_string_t}: uint64 length, then UTF-8 bytes. The length is checked against the bytes left in the
     * file and against {@code maxLength} before anything is allocated. Malformed UTF-8 is decoded with replacement
     * characters, as {@link String#String(byte[], java.nio.charset.Charset)} does, rather than rejected: some
     * converters have written vocabularies with stray bytes, and llama.cpp accepts them too.
     */
    String string(String what, long maxLength) {
        long len = i64(what + " length");
        if (len < 0 || len > maxLength) {
            throw new ModelFormatException(file, what + ": string length " + Long.toUnsignedString(len)
                    + " is over the limit of " + maxLength + " bytes");
        }
        require(len, what + " (string of " + len + " bytes)");
        byte[] bytes = new byte[(int) len];
        int done = 0;
        while (done < bytes.length) {
            int chunk = Math.min(WINDOW, bytes.length - done);
            fill(chunk, what).get(bytes, done, chunk);
            done += chunk;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Returns the window positioned at {@link #pos} with at least {@code n} bytes readable, and advances pos. */
    private ByteBuffer fill(int n, String what) {
        require(n, what);
        long offsetInWindow = pos - windowStart; // >= 0: the reader only moves forward
        if (offsetInWindow + n > window.limit()) {
            windowStart = pos;
            window.clear();
            try {
                while (window.position() < n) {
                    int read = channel.read(window, windowStart + window.position());
                    if (read < 0) {
                        // The file shrank after we measured it.
                        throw new ModelFormatException(file, "truncated header: " + what + " at offset " + pos
                                + ": the file ended early (was it modified while being read?)");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading the GGUF header of " + file, e);
            }
            window.flip();
            offsetInWindow = 0;
        }
        window.position((int) offsetInWindow);
        pos += n;
        return window;
    }
}
