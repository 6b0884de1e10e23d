package org.mixtralspark.engine.io.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mixtralspark.engine.io.gguf.GgufBytes.F32;
import static org.mixtralspark.engine.io.FailsCheaply.assertAllocatesLittle;
import static org.mixtralspark.engine.io.gguf.GgufBytes.Q8_0;

/**
 * One test per way a GGUF file can be corrupt or hostile. Each must be refused with a {@link ModelFormatException}
 * whose message names the file and the key or tensor at fault; counts claiming more than the file can hold must fail
 * at once, allocating nothing in proportion to the claim.
 */
class GgufHostileFileTest {

    @TempDir
    Path tmp;

    /** A valid file: one key, tensors "a" and "b" of 8 F32 each, at data offsets 0 and 32. */
    private static GgufBytes valid() {
        return GgufBytes.header(3, 2, 1).kvString("general.architecture", "llama")
                .tensor("a", F32, 0, 8).tensor("b", F32, 32, 8).padTo(32).zeros(64);
    }

    @Test
    void theBaseFileIsValid() {
        try (GgufFile g = GgufFile.open(valid().write(tmp.resolve("ok.gguf")))) {
            assertEquals(2, g.tensors().size());
            assertEquals(g.dataStart() + 32, g.tensor("b").fileOffset());
        }
    }

    @Test
    void wrongMagic() {
        byte[] bytes = valid().toArray();
        bytes[0] = 'g';
        assertRejected(write("magic.gguf", bytes), "magic", "67 47 55 46");
    }

    @Test
    void emptyFile() {
        assertRejected(write("empty.gguf", new byte[0]), "truncated", "magic");
    }

    @Test
    void versionOneIsRejectedWithAnExplanation() {
        assertRejected(GgufBytes.header(1, 0, 0).write(tmp.resolve("v1.gguf")), "version 1", "expected version 2 or 3");
    }

    @Test
    void unsupportedVersion() {
        assertRejected(GgufBytes.header(4, 0, 0).write(tmp.resolve("v4.gguf")), "expected 2 or 3, found 4");
    }

    @Test
    void bigEndianFile() {
        assertRejected(GgufBytes.header(Integer.reverseBytes(3), 0, 0).write(tmp.resolve("be.gguf")), "big-endian");
    }

    @Test
    void headerTruncatedInsideAKey() {
        // The counts fit (one entry needs 13 bytes, 18 are left), the key does not: 10 of its 20 bytes are there.
        byte[] bytes = GgufBytes.header(3, 0, 1).kvString("general.architecture", "llama").toArray();
        assertRejected(write("cut.gguf", Arrays.copyOf(bytes, 24 + 8 + 10)), "truncated", "metadata key #0");
    }

    @Test
    void headerTruncatedInsideATensorInfo() {
        String name = "blk.0.ffn_gate_exps.weight.with.a.long.name";
        byte[] bytes = GgufBytes.header(3, 1, 0).tensor(name, F32, 0, 8, 8).padTo(32).zeros(256).toArray();
        int cut = GgufBytes.header(3, 1, 0).str(name).u32(2).size() + 12; // inside the second dimension
        assertRejected(write("cut2.gguf", Arrays.copyOf(bytes, cut)), "truncated", "tensor '" + name + "' dimension 1");
    }

    @Test
    void tensorDataTruncated() {
        byte[] bytes = valid().toArray();
        assertRejected(write("short.gguf", Arrays.copyOf(bytes, bytes.length - 1)), "tensor 'b'", "end of the file");
    }

    @Test
    void keyLengthLargerThanTheFile() {
        Path f = GgufBytes.header(3, 0, 1).u64(1L << 40).zeros(16).write(tmp.resolve("keylen.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "metadata key #0", "string length 1099511627776"));
    }

    @Test
    void stringValueLongerThanTheFile() {
        Path f = GgufBytes.header(3, 0, 1).str("general.name").u32(GgufValueType.STRING.id).u64(1_000_000).zeros(100)
                .write(tmp.resolve("strlen.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "'general.name'", "1000000 bytes", "truncated"));
    }

    @Test
    void arrayOfATrillionEntries() {
        Path f = GgufBytes.header(3, 0, 1).str("tokenizer.ggml.tokens").u32(GgufValueType.ARRAY.id)
                .u32(GgufValueType.STRING.id).u64(1_000_000_000_000L).zeros(64).write(tmp.resolve("array.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "'tokenizer.ggml.tokens'", "array length 1000000000000"));
    }

    @Test
    void arrayLongerThanTheRestOfTheFile() {
        // Under our element limit, but 100000 strings need at least 800000 bytes.
        Path f = GgufBytes.header(3, 0, 1).str("tokenizer.ggml.tokens").u32(GgufValueType.ARRAY.id)
                .u32(GgufValueType.STRING.id).u64(100_000).zeros(64).write(tmp.resolve("array2.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "'tokenizer.ggml.tokens'", "100000", "cannot fit"));
    }

    @Test
    void aTrillionTensors() {
        Path f = GgufBytes.header(3, 1_000_000_000_000L, 0).zeros(64).write(tmp.resolve("tensors.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "tensor_count = 1000000000000", "cannot fit"));
    }

    @Test
    void aTrillionKeys() {
        Path f = GgufBytes.header(3, 0, 1_000_000_000_000L).zeros(64).write(tmp.resolve("keys.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "metadata_kv_count = 1000000000000", "cannot fit"));
    }

    @Test
    void countsThatWrapAroundAsSigned() {
        Path f = GgufBytes.header(3, -1L, 0).zeros(64).write(tmp.resolve("neg.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "tensor_count = 18446744073709551615"));
    }

    @Test
    void tensorOffsetPastTheEndOfTheFile() {
        Path f = GgufBytes.header(3, 1, 0).tensor("blk.0.attn_q.weight", F32, 1L << 40, 8).padTo(32).zeros(32)
                .write(tmp.resolve("offset.gguf"));
        assertRejected(f, "tensor 'blk.0.attn_q.weight'", "end of the file");
    }

    @Test
    void tensorSizePastTheEndOfTheFile() {
        Path f = GgufBytes.header(3, 1, 0).tensor("token_embd.weight", F32, 0, 8, 1000).padTo(32).zeros(32)
                .write(tmp.resolve("size.gguf"));
        assertRejected(f, "tensor 'token_embd.weight'", "expected a file of at least 32096 bytes, found 128");
    }

    @Test
    void overlappingTensors() {
        Path f = GgufBytes.header(3, 2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 8).padTo(32).zeros(96)
                .write(tmp.resolve("overlap.gguf"));
        assertRejected(f, "tensor 'b'", "overlaps tensor 'a'");
    }

    @Test
    void misalignedOffset() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 4, 8).padTo(32).zeros(64).write(tmp.resolve("misaligned.gguf"));
        assertRejected(f, "tensor 'a'", "offset 4", "alignment 32");
    }

    @Test
    void customAlignmentIsRespected() {
        // Offset 32 is fine for the default alignment, not for general.alignment = 64.
        Path f = GgufBytes.header(3, 1, 1).kvU32("general.alignment", 64).tensor("a", F32, 32, 8).padTo(64).zeros(128)
                .write(tmp.resolve("align64.gguf"));
        assertRejected(f, "tensor 'a'", "alignment 64");
    }

    @Test
    void alignmentThatIsNotAPowerOfTwo() {
        Path f = GgufBytes.header(3, 0, 1).kvU32("general.alignment", 48).write(tmp.resolve("align48.gguf"));
        assertRejected(f, "'general.alignment'", "power of two", "48");
    }

    @Test
    void unknownTensorType() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", 4, 0, 32).padTo(32).zeros(64).write(tmp.resolve("type.gguf"));
        assertRejected(f, "tensor 'a'", "unknown ggml tensor type id 4");
    }

    @Test
    void unknownMetadataValueType() {
        Path f = GgufBytes.header(3, 0, 1).str("general.name").u32(13).u32(0).write(tmp.resolve("vtype.gguf"));
        assertRejected(f, "'general.name'", "unknown metadata value type id 13");
    }

    @Test
    void boolThatIsNeitherZeroNorOne() {
        Path f = GgufBytes.header(3, 0, 1).str("tokenizer.ggml.add_bos_token").u32(GgufValueType.BOOL.id).u8(7)
                .write(tmp.resolve("bool.gguf"));
        assertRejected(f, "'tokenizer.ggml.add_bos_token'", "BOOL", "found 7");
    }

    @Test
    void tooManyDimensions() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 1, 1, 1, 1, 8).padTo(32).zeros(32).write(tmp.resolve("dims5.gguf"));
        assertRejected(f, "tensor 'a'", "expected 1 to 4 dimensions, found 5");
    }

    @Test
    void zeroDimensions() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0).padTo(32).zeros(32).write(tmp.resolve("dims0.gguf"));
        assertRejected(f, "tensor 'a'", "found 0");
    }

    @Test
    void zeroDimension() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 8, 0).padTo(32).zeros(32).write(tmp.resolve("dim0.gguf"));
        assertRejected(f, "tensor 'a'", "ne[1] must be positive, found 0");
    }

    @Test
    void negativeDimension() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 8, -2).padTo(32).zeros(32).write(tmp.resolve("dimneg.gguf"));
        assertRejected(f, "tensor 'a'", "ne[1] must be positive, found 18446744073709551614");
    }

    @Test
    void elementCountOverflow() {
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 1L << 32, 1L << 32).padTo(32).zeros(32)
                .write(tmp.resolve("overflow.gguf"));
        assertRejected(f, "tensor 'a'", "overflows");
    }

    @Test
    void byteSizeOverflow() {
        // 2^61 F32 elements fit a long, their 2^63 bytes do not.
        Path f = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 1L << 31, 1L << 30).padTo(32).zeros(32)
                .write(tmp.resolve("bytes.gguf"));
        assertRejected(f, "tensor 'a'", "overflows");
    }

    @Test
    void rowThatIsNotWholeBlocks() {
        Path f = GgufBytes.header(3, 1, 0).tensor("blk.0.ffn_down_exps.weight", Q8_0, 0, 48, 2).padTo(32).zeros(128)
                .write(tmp.resolve("block.gguf"));
        assertRejected(f, "tensor 'blk.0.ffn_down_exps.weight'", "ne[0] = 48", "block size 32");
    }

    @Test
    void duplicateTensorNames() {
        Path f = GgufBytes.header(3, 2, 0).tensor("a", F32, 0, 8).tensor("a", F32, 32, 8).padTo(32).zeros(64)
                .write(tmp.resolve("duptensor.gguf"));
        assertRejected(f, "tensor 'a' appears twice");
    }

    @Test
    void duplicateKeys() {
        Path f = GgufBytes.header(3, 0, 2).kvString("general.name", "x").kvString("general.name", "y")
                .write(tmp.resolve("dupkey.gguf"));
        assertRejected(f, "metadata key 'general.name' appears twice");
    }

    @Test
    void arraysNestedTooDeep() {
        GgufBytes b = GgufBytes.header(3, 0, 1).str("deep").u32(GgufValueType.ARRAY.id);
        for (int i = 0; i < 10; i++) {
            b.u32(GgufValueType.ARRAY.id).u64(1);
        }
        Path f = b.u32(GgufValueType.UINT8.id).u64(1).u8(0).write(tmp.resolve("deep.gguf"));
        assertRejected(f, "'deep'", "nested");
    }

    /** A file from our writer with three tensors, the last one small: the shape of the "one short" find. */
    private byte[] writtenByGgufWriter() throws IOException {
        Path f = tmp.resolve("writer.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("a", GgmlType.F32, new long[] {4, 8}, new float[32])
                .addTensor("b", GgmlType.F32, new long[] {2, 8}, new float[16])
                .addTensor("c", GgmlType.F32, new long[] {8}, new float[8])
                .write(f);
        return Files.readAllBytes(f);
    }

    @Test
    void aFileFromOurWriterIsAcceptedWithItsOwnLayout() throws IOException {
        try (GgufFile g = GgufFile.open(write("writer-ok.gguf", writtenByGgufWriter()))) {
            assertEquals(3, g.tensors().size());
        }
    }

    @Test
    void tensorCountOneShortIsRefused() throws IOException {
        // The header then ends inside the last tensor info: every tensor would be read from the wrong offset.
        byte[] bytes = writtenByGgufWriter();
        java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(8, 2);
        assertRejected(write("one-short.gguf", bytes), "bytes follow the last tensor", "tensor_count");
    }

    @Test
    void aGapBetweenTensorsIsRefused() {
        // b belongs at 32 (right after a's 32 bytes); at 64 the 32 bytes between are nobody's.
        Path f = GgufBytes.header(3, 2, 0).tensor("a", F32, 0, 8).tensor("b", F32, 64, 8).padTo(32).zeros(96)
                .write(tmp.resolve("gap.gguf"));
        assertRejected(f, "tensor 'b'", "data offset 64, expected 32");
    }

    @Test
    void tensorsOutOfHeaderOrderAreRefused() {
        Path f = GgufBytes.header(3, 2, 0).tensor("a", F32, 32, 8).tensor("b", F32, 0, 8).padTo(32).zeros(64)
                .write(tmp.resolve("order.gguf"));
        assertRejected(f, "tensor 'a'", "data offset 32, expected 0");
    }

    @Test
    void bytesAfterTheLastTensorAreRefusedButItsPaddingMayBeMissing() {
        assertRejected(valid().zeros(32).write(tmp.resolve("trailing.gguf")), "32 bytes follow the last tensor");
        // "a" holds 4 F32 = 16 bytes; the file may end right after them or after the padding to 32.
        GgufBytes unpadded = GgufBytes.header(3, 1, 0).tensor("a", F32, 0, 4).padTo(32).zeros(16);
        try (GgufFile g = GgufFile.open(unpadded.write(tmp.resolve("unpadded.gguf")))) {
            assertEquals(1, g.tensors().size());
        }
        try (GgufFile g = GgufFile.open(unpadded.zeros(16).write(tmp.resolve("padded.gguf")))) {
            assertEquals(1, g.tensors().size());
        }
    }

    @Test
    void tensorNameLongerThanGgmlAllows() {
        String name = "x".repeat(64);
        Path f = GgufBytes.header(3, 1, 0).tensor(name, F32, 0, 8).padTo(32).zeros(32).write(tmp.resolve("name.gguf"));
        assertRejected(f, "name of tensor #0", "string length 64 is over the limit of 63");
    }

    @Test
    void aVocabularyPieceOfAMegabyteIsRefusedAtOnce() {
        // The hang: one 1 MB piece. Pieces are array strings, limited to 16 KiB.
        GgufBytes b = GgufBytes.header(3, 0, 1).str("tokenizer.ggml.tokens").u32(GgufValueType.ARRAY.id)
                .u32(GgufValueType.STRING.id).u64(2).str("a").u64(1 << 20).zeros(1 << 20);
        Path f = b.write(tmp.resolve("piece.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "'tokenizer.ggml.tokens[1]'", "1048576", "limit of 16384"));
    }

    @Test
    void tooManyTensorsForAnyModel() {
        // 2^17 minimal tensor infos fit in the file, but no model has that many tensors.
        Path f = GgufBytes.header(3, 1L << 17, 0).zeros(32 << 17).write(tmp.resolve("many.gguf"));
        assertAllocatesLittle(() -> assertRejected(f, "tensor_count = 131072", "over the limit of 65536"));
    }

    @Test
    void rangeOutsideATensor() {
        try (GgufFile g = GgufFile.open(valid().write(tmp.resolve("range.gguf")))) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.bytes(g.tensor("a"), 16, 17));
            assertTrue(e.getMessage().contains("tensor 'a'"), e.getMessage());
            assertThrows(ModelFormatException.class, () -> g.bytes(g.tensor("a"), -1, 1));
            assertThrows(ModelFormatException.class, () -> g.bytes(g.tensor("a"), Long.MAX_VALUE, 1));
            // a hand-made TensorInfo could point anywhere in (or past) the file: refused
            TensorInfo forged = new TensorInfo(g.path(), "a", GgmlType.F32, new long[]{1 << 20}, 0, 4 << 20);
            assertThrows(IllegalArgumentException.class, () -> g.bytes(forged, 0, 4));
        }
    }

    private Path write(String name, byte[] bytes) {
        try {
            return Files.write(tmp.resolve(name), bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static void assertRejected(Path file, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(file).close());
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), "message does not name the file: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), "message lacks \"" + f + "\": " + m);
        }
    }
}
