package org.mixtralspark.engine.io.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.ModelFiles;
import org.mixtralspark.engine.io.ModelFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mixtralspark.engine.io.FailsCheaply.assertAllocatesLittle;

/**
 * One test per way a safetensors checkpoint can be corrupt or hostile; each is refused with a
 * {@link ModelFormatException} naming the file and the tensor at fault.
 */
class SafetensorsHostileFileTest {

    @TempDir
    Path tmp;

    /** A file whose header is {@code json} (as given), followed by {@code dataBytes} zero bytes. */
    private Path file(String name, String json, int dataBytes) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + j.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(j.length).put(j);
        return write(name, b.array());
    }

    private Path write(String name, byte[] bytes) {
        try {
            return Files.write(tmp.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    @Test
    void theBaseFileIsValid() {
        Path f = file("ok.safetensors", "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2,2]", 0, 16) + ","
                + entry("b", "BF16", "[4]", 16, 24) + "}", 24);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(f)) {
            assertEquals(2, c.tensors().size());
            assertEquals(f.toFile().length() - 24 + 16, c.tensor("b").fileOffset()); // data start + 16
        }
    }

    @Test
    void fileShorterThanTheHeaderLength() {
        assertRejected(write("tiny.safetensors", new byte[]{1, 2, 3}), "expected an 8-byte header length");
    }

    @Test
    void headerLengthOver100MB() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Path f = write("huge.safetensors", b.array());
        assertAllocatesLittle(() -> assertRejected(f, "header length 1099511627776", "100 MB"));
    }

    @Test
    void headerLengthPastTheEndOfTheFile() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        assertRejected(write("past.safetensors", b.array()), "header length 1000", "56");
    }

    @Test
    void negativeHeaderLength() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(-8);
        assertRejected(write("neg.safetensors", b.array()), "header length 18446744073709551608");
    }

    @Test
    void headerThatIsNotJson() {
        assertRejected(file("bad.safetensors", "{\"a\":{\"dtype\":", 0), "not valid JSON");
    }

    @Test
    void headerThatIsNotAnObject() {
        assertRejected(file("array.safetensors", "[1,2]", 0), "expected a JSON object", "byte 5b");
    }

    @Test
    void duplicateTensorName() {
        assertRejected(file("dup.safetensors", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8),
                "not valid JSON", "Duplicate field 'a'");
    }

    @Test
    void unsupportedDtype() {
        assertRejected(file("i64.safetensors", "{" + entry("model.embed_tokens.weight", "I64", "[2]", 0, 16) + "}", 16),
                "tensor 'model.embed_tokens.weight'", "dtype I64 is not supported");
        assertRejected(file("f8.safetensors", "{" + entry("lm_head.weight", "F8_E4M3", "[2]", 0, 2) + "}", 2),
                "tensor 'lm_head.weight'", "dtype F8_E4M3");
    }

    @Test
    void dataOffsetsPastTheEndOfTheFile() {
        assertRejected(file("end.safetensors", "{" + entry("lm_head.weight", "F32", "[4]", 0, 16) + "}", 12),
                "tensor 'lm_head.weight'", "begin <= end <= 12");
    }

    @Test
    void dataOffsetsBeyondLong() {
        assertRejected(file("big.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999999]}}", 4),
                "tensor 'w' data_offsets[1]", "non-negative integer");
    }

    @Test
    void dataOffsetsThatDisagreeWithTheShape() {
        assertRejected(file("size.safetensors", "{" + entry("model.norm.weight", "F16", "[3]", 0, 8) + "}", 8),
                "tensor 'model.norm.weight'", "hold 8 bytes", "needs 6");
    }

    @Test
    void beginAfterEnd() {
        assertRejected(file("order.safetensors", "{" + entry("w", "F32", "[1]", 8, 4) + "}", 8), "tensor 'w'", "begin <= end");
    }

    @Test
    void overlappingTensors() {
        assertRejected(file("overlap.safetensors", "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                "tensor 'b'", "inside tensor 'a'");
    }

    @Test
    void headerLengthOneByteShortIsRefused() {
        // The reference writer pads the header with spaces to a multiple of 8, so the JSON still parses when the
        // length misses the last space: every tensor would then be read one byte early.
        String json = "{" + entry("a", "F32", "[2]", 0, 8) + "}";
        json += " ".repeat((8 - json.length() % 8) % 8 + 8);
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + j.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(j.length - 1).put(j);
        assertRejected(write("short-header.safetensors", b.array()), "data section has 9 bytes", "cover 8");
    }

    @Test
    void aGapBetweenTensorsIsRefused() {
        assertRejected(file("gap.safetensors", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12)
                + "}", 12), "tensor 'b'", "start at 8, expected 4");
        assertRejected(file("late.safetensors", "{" + entry("a", "F32", "[1]", 4, 8) + "}", 8), "tensor 'a'",
                "start at 4, expected 0");
    }

    @Test
    void bytesAfterTheLastTensorAreRefused() {
        assertRejected(file("trailing.safetensors", "{" + entry("a", "F32", "[1]", 0, 4) + "}", 5),
                "data section has 5 bytes", "cover 4");
    }

    @Test
    void headerThatDoesNotStartWithABrace() {
        assertRejected(file("space.safetensors", " {" + entry("a", "F32", "[1]", 0, 4) + "}", 4), "found the byte 20");
    }

    @Test
    void headerBytesThatLookLikeUtf32AreRefusedAsJson() {
        // Found by the fuzzer: from bytes "{ 00 00 00" Jackson guessed UTF-32 and threw an IOException of its own.
        assertRejected(file("utf32.safetensors", "{\u0000\u0000\u0000\"a\":1}", 0), "not valid JSON");
    }

    @Test
    void headerThatIsNotUtf8() {
        byte[] j = {'{', '"', (byte) 0xFF, '"', ':', '1', '}', ' '};
        ByteBuffer b = ByteBuffer.allocate(8 + j.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(j.length).put(j);
        assertRejected(write("latin1.safetensors", b.array()), "not valid UTF-8");
    }

    @Test
    void metadataThatIsNotAMapOfStrings() {
        assertRejected(file("meta.safetensors", "{\"__metadata__\":{\"format\":1}," + entry("a", "F32", "[1]", 0, 4)
                + "}", 4), "__metadata__.format");
    }

    @Test
    void negativeOrFractionalDimension() {
        assertRejected(file("neg.safetensors", "{" + entry("w", "F32", "[-1,4]", 0, 16) + "}", 16), "tensor 'w' shape[0]");
        assertRejected(file("frac.safetensors", "{" + entry("w", "F32", "[1.5]", 0, 4) + "}", 4), "tensor 'w' shape[0]");
    }

    @Test
    void elementCountOverflow() {
        assertRejected(file("overflow.safetensors", "{" + entry("w", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4),
                "tensor 'w'", "overflows");
        assertRejected(file("bytes.safetensors", "{" + entry("w", "F32", "[4611686018427387904]", 0, 4) + "}", 4),
                "tensor 'w'", "overflows");
    }

    @Test
    void missingFields() {
        assertRejected(file("nodtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "dtype");
        assertRejected(file("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "shape");
        assertRejected(file("nooffsets.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'w'", "data_offsets");
        assertRejected(file("notobject.safetensors", "{\"w\":3}", 4), "tensor 'w'", "expected a JSON object");
    }

    @Test
    void tensorInTheIndexMissingFromItsShard() {
        new SafetensorsWriter().add("a", GgmlType.F32, new long[]{1}, new float[]{1}).write(tmp.resolve("s1.safetensors"));
        SafetensorsWriter.writeIndex(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE),
                Map.of("a", "s1.safetensors", "model.layers.0.mlp.w1", "s1.safetensors"), 4);
        ModelFormatException e = assertRejected(tmp, "tensor 'model.layers.0.mlp.w1'", "has no such tensor");
        assertTrue(e.getMessage().contains(tmp.resolve("s1.safetensors").toString()), e.getMessage());
    }

    @Test
    void shardMissing() {
        new SafetensorsWriter().add("a", GgmlType.F32, new long[]{1}, new float[]{1}).write(tmp.resolve("s1.safetensors"));
        SafetensorsWriter.writeIndex(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE),
                Map.of("a", "s1.safetensors", "b", "s2.safetensors"), 8);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsCheckpoint.open(tmp));
        assertTrue(e.getMessage().contains(tmp.resolve("s2.safetensors").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("does not exist") && e.getMessage().contains("'b'"), e.getMessage());
    }

    @Test
    void shardOutsideTheFolder() {
        SafetensorsWriter.writeIndex(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE), Map.of("a", "../elsewhere.safetensors"), 4);
        assertRejected(tmp, "tensor 'a'", "shard file name in this folder", "../elsewhere.safetensors");
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        Files.writeString(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"metadata\":{}}");
        assertRejected(tmp, "weight_map");
        Files.writeString(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\":");
        assertRejected(tmp, "not valid JSON");
    }

    @Test
    void foldersAndFilesThatAreNoModel() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelFiles.open(empty));
        assertTrue(e.getMessage().startsWith(empty.toString()) && e.getMessage().contains("model.safetensors"), e.getMessage());
        Path text = Files.writeString(tmp.resolve("notes.txt"), "hello");
        e = assertThrows(ModelFormatException.class, () -> ModelFiles.open(text));
        assertTrue(e.getMessage().startsWith(text.toString()) && e.getMessage().contains("68 65 6c 6c"), e.getMessage());
        Path none = tmp.resolve("absent.gguf");
        e = assertThrows(ModelFormatException.class, () -> ModelFiles.open(none));
        assertTrue(e.getMessage().startsWith(none.toString()) && e.getMessage().contains("no such file"), e.getMessage());
    }

    private static ModelFormatException assertRejected(Path path, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsCheckpoint.open(path).close());
        String m = e.getMessage();
        assertTrue(m.contains(path.toString()), "message does not name the file: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), "message lacks \"" + f + "\": " + m);
        }
        return e;
    }
}
