package org.mixtralspark.engine.io.gguf;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mixtralspark.engine.io.gguf.GgufBytes.F32;

/**
 * A file over 2 GiB (sparse, so it costs no disk): a tensor past the 2 GiB mark maps, and a tensor over 2 GiB is
 * served in ranges, never as one buffer.
 */
class GgufLargeFileTest {

    @TempDir
    Path tmp;

    @Test
    void tensorsBeyondAndAcross2GiB() throws IOException {
        Assumptions.assumeTrue(Files.getFileStore(tmp).getUsableSpace() > (4L << 30), "needs room for a sparse 2 GiB file");
        long hugeElements = (1L << 29) + 64; // F32: 2 GiB + 256 bytes
        long hugeBytes = 4 * hugeElements;
        long farOffset = 32 + hugeBytes; // a multiple of 32
        byte[] header = GgufBytes.header(3, 3, 0).tensor("small", F32, 0, 8).tensor("huge", F32, 32, hugeElements)
                .tensor("far", F32, farOffset, 8).padTo(32).toArray();
        long dataStart = header.length;
        Path file = tmp.resolve("large.gguf");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.wrap(header), 0);
            ch.write(floats(7f, 8f), dataStart + 32 + hugeBytes - 8); // the last two values of "huge"
            ch.write(floats(1, 2, 3, 4, 5, 6, 7, 8), dataStart + farOffset);
        }
        assertTrue(Files.size(file) > (2L << 30));
        try (GgufFile g = GgufFile.open(file)) {
            TensorInfo far = g.tensor("far");
            assertTrue(far.fileOffset() > Integer.MAX_VALUE);
            ByteBuffer b = g.bytes(far);
            for (int i = 0; i < 8; i++) {
                assertEquals(i + 1f, b.getFloat(4 * i));
            }
            TensorInfo huge = g.tensor("huge");
            assertEquals(hugeBytes, huge.byteSize());
            ByteBuffer tail = g.bytes(huge, hugeBytes - 8, 8);
            assertEquals(7f, tail.getFloat(0));
            assertEquals(8f, tail.getFloat(4));
            assertEquals(0f, g.bytes(huge, 0, 1024).getFloat(1020));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.bytes(huge));
            assertTrue(e.getMessage().contains("'huge'") && e.getMessage().contains("2 GiB"), e.getMessage());
        }
    }

    private static ByteBuffer floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.flip();
    }
}
