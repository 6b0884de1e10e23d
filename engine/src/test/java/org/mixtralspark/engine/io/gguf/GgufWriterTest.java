package org.mixtralspark.engine.io.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.ModelFiles;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.RowSource;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;
import org.mixtralspark.engine.tensor.Dequantize;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Write with {@link GgufWriter}, read with {@link GgufFile}: same metadata, shapes and values. */
class GgufWriterTest {

    @TempDir
    Path tmp;

    @Test
    void metadataOfEveryTypeRoundTripsInOrder() {
        Path file = tmp.resolve("meta.gguf");
        new GgufWriter()
                .putUInt8("u8", 255).putInt8("i8", -128).putUInt16("u16", 65535).putInt16("i16", -32768)
                .putUInt32("u32", 4_294_967_295L).putInt32("i32", Integer.MIN_VALUE)
                .putUInt64("u64", -1L).putInt64("i64", Long.MIN_VALUE)
                .putFloat32("f32", 1e-5f).putFloat64("f64", Math.PI).putBool("yes", true).putBool("no", false)
                .putString("s", "Grüße, 世界 🌍").putString("empty", "")
                .putStringArray("tokens", List.of("<unk>", "<s>", "▁the", ""))
                .putFloat32Array("scores", new float[]{0f, -1.5f, Float.NEGATIVE_INFINITY})
                .putInt32Array("types", new int[]{2, 3, 1, -7})
                .putArray("bools", GgufValueType.BOOL, List.of(true, false))
                .putArray("bytes", GgufValueType.UINT8, List.of(0L, 200L))
                .putArray("none", GgufValueType.STRING, List.of())
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no", "s",
                    "empty", "tokens", "scores", "types", "bools", "bytes", "none"), new ArrayList<>(g.metadata().keySet()));
            Map<String, Object> m = g.metadata();
            assertEquals(255L, m.get("u8"));
            assertEquals(-128L, m.get("i8"));
            assertEquals(65535L, m.get("u16"));
            assertEquals(-32768L, m.get("i16"));
            assertEquals(4_294_967_295L, m.get("u32"));
            assertEquals((long) Integer.MIN_VALUE, m.get("i32"));
            assertEquals(-1L, m.get("u64")); // 2^64 - 1 keeps its bits
            assertEquals(Long.MIN_VALUE, m.get("i64"));
            assertEquals(1e-5f, m.get("f32"));
            assertEquals(Math.PI, m.get("f64"));
            assertEquals(true, m.get("yes"));
            assertEquals(false, m.get("no"));
            assertEquals("Grüße, 世界 🌍", g.getString("s"));
            assertEquals("", g.getString("empty"));
            assertEquals(List.of("<unk>", "<s>", "▁the", ""), g.getStringList("tokens"));
            assertArrayEquals(new float[]{0f, -1.5f, Float.NEGATIVE_INFINITY}, g.getFloatArray("scores"));
            assertArrayEquals(new int[]{2, 3, 1, -7}, g.getIntArray("types"));
            assertEquals(List.of(true, false), m.get("bools"));
            assertEquals(List.of(0L, 200L), m.get("bytes"));
            assertEquals(List.of(), m.get("none"));
            assertEquals(GgufValueType.UINT16, g.meta().type("u16"));
            assertEquals(GgufValueType.ARRAY, g.meta().type("types"));
            assertEquals(GgufValueType.INT32, g.meta().arrayElementType("types"));
            assertEquals(4_294_967_295L, g.getLong("u32"));
            assertEquals(7, g.getInt("absent", 7));
            assertEquals("x", g.getString("absent", "x"));
            assertEquals(0.5f, g.getFloat("absent", 0.5f));
            assertTrue(g.tensors().isEmpty());
        }
    }

    @Test
    void tensorsOfEveryWritableTypeRoundTrip() {
        Random rnd = new Random(42);
        float[] a = randomFloats(rnd, 3 * 64);
        float[] b = randomFloats(rnd, 2 * 3 * 32);
        float[] c = randomFloats(rnd, 96);
        float[] d = randomFloats(rnd, 2 * 2 * 2 * 64);
        Path file = tmp.resolve("t.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("a", GgmlType.F32, new long[]{3, 64}, a)
                .addTensor("b", GgmlType.F16, new long[]{2, 3, 32}, b)
                .addTensor("c", GgmlType.BF16, new long[]{96}, c)
                .addTensor("d", GgmlType.Q8_0, new long[]{2, 2, 2, 64}, d)
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(List.of("a", "b", "c", "d"), new ArrayList<>(g.tensors().keySet()));
            assertArrayEquals(new long[]{3, 64}, g.tensor("a").shape());
            assertArrayEquals(new long[]{2, 3, 32}, g.tensor("b").shape());
            assertArrayEquals(new long[]{96}, g.tensor("c").shape());
            assertArrayEquals(new long[]{2, 2, 2, 64}, g.tensor("d").shape());
            assertArrayEquals(a, decode(g, "a"));
            float[] bb = decode(g, "b");
            float[] cc = decode(g, "c");
            for (int i = 0; i < b.length; i++) {
                assertEquals(Float16.toFloat(Float16.fromFloat(b[i])), bb[i]);
            }
            for (int i = 0; i < c.length; i++) {
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat(c[i])), cc[i]);
            }
            float[] dd = decode(g, "d");
            for (int blk = 0; blk < d.length / 32; blk++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(d[32 * blk + j]));
                }
                for (int j = 0; j < 32; j++) {
                    // half a quantisation step, plus the rounding of the scale to a half
                    assertEquals(d[32 * blk + j], dd[32 * blk + j], amax / 127 * 0.5 + amax * 1e-3, "d[" + (32 * blk + j) + "]");
                }
            }
            for (TensorInfo t : g.tensors().values()) {
                assertEquals(0, (t.fileOffset() - g.dataStart()) % 32, t.name());
                assertEquals(0, t.fileOffset() % 32, t.name());
            }
        }
    }

    @Test
    void versionTwoAndAnotherAlignment() throws Exception {
        Path file = tmp.resolve("v2.gguf");
        float[] x = randomFloats(new Random(1), 40);
        new GgufWriter().version(2).alignment(256)
                .addTensor("x", GgmlType.F32, new long[]{40}, x)
                .addTensor("y", GgmlType.F32, new long[]{1}, new float[]{3f})
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(2, g.version());
            assertEquals(256, g.alignment());
            assertEquals(0, g.dataStart() % 256);
            assertEquals(g.dataStart() + 256, g.tensor("y").fileOffset());
            assertArrayEquals(x, decode(g, "x"));
            assertArrayEquals(new float[]{3f}, decode(g, "y"));
        }
        assertEquals(0, Files.size(file) % 256);
    }

    /**
     * Against llama-quantize: kquant-q8_0.gguf and mini-mistral-q8_0.gguf were quantised by ggml's
     * {@code quantize_row_q8_0_ref} from the F32 weights of the HF folders; our writer gives the same bytes.
     */
    @Test
    void q8_0QuantisationMatchesLlamaQuantize() {
        assertQ8_0Matches("kquant-hf", "kquant-q8_0.gguf",
                Map.of("model.embed_tokens.weight", "token_embd.weight", "lm_head.weight", "output.weight",
                        "model.layers.2.self_attn.o_proj.weight", "blk.2.attn_output.weight"));
        assertQ8_0Matches("mini-mistral-hf", "mini-mistral-q8_0.gguf",
                Map.of("model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight"));
    }

    private void assertQ8_0Matches(String hfFolder, String ggufName, Map<String, String> names) {
        try (TensorSource hf = ModelFiles.open(Oracle.model(hfFolder));
             GgufFile q8 = GgufFile.open(Oracle.model(ggufName))) {
            for (Map.Entry<String, String> e : names.entrySet()) {
                TensorInfo src = hf.tensors().get(e.getKey());
                float[] values = new float[(int) src.elementCount()];
                hf.bytes(src).asFloatBuffer().get(values);
                Path out = tmp.resolve("q.gguf");
                new GgufWriter().addTensor("t", GgmlType.Q8_0, src.shape(), values).write(out);
                try (GgufFile mine = GgufFile.open(out)) {
                    assertEquals(q8.bytes(q8.tensor(e.getValue())), mine.bytes(mine.tensor("t")), e.getValue());
                }
            }
        }
    }

    /**
     * Copying a shipped GGUF (metadata with its stored types, tensors as raw bytes) gives the very same file: our
     * layout is gguf-py's and ggml's byte for byte.
     */
    @ParameterizedTest
    @ValueSource(strings = {"kquant-q4_k_m", "mini-mistral-q8_0", "kquant-bf16"})
    void rewritingAShippedGgufReproducesItByteForByte(String stem) throws Exception {
        Path original = Oracle.model(stem + ".gguf");
        Path copy = tmp.resolve(stem + ".gguf");
        try (GgufFile g = GgufFile.open(original)) {
            GgufWriter w = new GgufWriter().version(g.version());
            for (Map.Entry<String, Object> e : g.metadata().entrySet()) {
                GgufValueType type = g.meta().type(e.getKey());
                if (type == GgufValueType.ARRAY) {
                    w.putArray(e.getKey(), g.meta().arrayElementType(e.getKey()), (List<?>) e.getValue());
                } else {
                    w.put(e.getKey(), type, e.getValue());
                }
            }
            for (TensorInfo t : g.tensors().values()) {
                ByteBuffer b = g.bytes(t);
                byte[] raw = new byte[b.remaining()];
                b.get(raw);
                w.addRawTensor(t.name(), t.type(), t.shape(), raw);
            }
            w.write(copy);
        }
        assertEquals(-1L, Files.mismatch(original, copy), stem);
    }

    /**
     * The streaming contract: a tensor given as a {@link RowSource} is drawn only while the file is written, each row
     * exactly once, a chunk at a time after the chunks before it are in the file, from several threads; and the file
     * is byte for byte the one written from arrays.
     */
    @Test
    void rowSourcesAreStreamedChunkByChunkIntoTheSameFileAsArrays() throws Exception {
        Random rnd = new Random(3);
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0};
        long[][] shapes = {{37, 64}, {3, 5, 96}, {64}, {2, 7, 3, 32}};
        float[][] values = new float[types.length * shapes.length][];
        Path fromArrays = tmp.resolve("arrays.gguf");
        GgufWriter a = new GgufWriter().threads(1).putString("general.name", "s");
        for (int t = 0; t < types.length; t++) {
            for (int s = 0; s < shapes.length; s++) {
                int i = t * shapes.length + s;
                values[i] = randomFloats(rnd, (int) Arrays.stream(shapes[s]).reduce(1, (x, y) -> x * y));
                a.addTensor("t" + i, types[t], shapes[s], values[i]);
            }
        }
        a.write(fromArrays);

        Path streamed = tmp.resolve("streamed.gguf");
        int chunkBytes = 1000;
        AtomicIntegerArray[] calls =
                new AtomicIntegerArray[values.length];
        List<String> violations = Collections.synchronizedList(new ArrayList<>());
        GgufWriter b = new GgufWriter().threads(3).chunkBytes(chunkBytes).putString("general.name", "s");
        try (GgufFile layout = GgufFile.open(fromArrays)) {
            for (int t = 0; t < types.length; t++) {
                for (int s = 0; s < shapes.length; s++) {
                    int i = t * shapes.length + s;
                    int cols = (int) shapes[s][shapes[s].length - 1];
                    int rows = values[i].length / cols;
                    long rowBytes = types[t].bytesFor(cols);
                    long perChunk = Math.max(1, chunkBytes / rowBytes);
                    long tensorStart = layout.tensor("t" + i).fileOffset();
                    calls[i] = new AtomicIntegerArray(rows);
                    float[] v = values[i];
                    AtomicIntegerArray seen = calls[i];
                    b.addTensor("t" + i, types[t], shapes[s], (row, out) -> {
                        seen.incrementAndGet((int) row);
                        long before = tensorStart + row / perChunk * perChunk * rowBytes;
                        try {
                            if (Files.size(streamed) < before) {
                                violations.add("t" + i + " row " + row + " drawn before byte " + before + " was written");
                            }
                        } catch (IOException e) {
                            violations.add(e.toString());
                        }
                        System.arraycopy(v, (int) row * cols, out, 0, cols);
                    });
                }
            }
        }
        for (AtomicIntegerArray c : calls) {
            for (int r = 0; r < c.length(); r++) {
                assertEquals(0, c.get(r), "nothing is drawn before write");
            }
        }
        b.write(streamed);
        assertEquals(List.of(), violations);
        for (int i = 0; i < calls.length; i++) {
            for (int r = 0; r < calls[i].length(); r++) {
                assertEquals(1, calls[i].get(r), "t" + i + " row " + r + " drawn once");
            }
        }
        assertEquals(-1L, Files.mismatch(fromArrays, streamed));
    }

    @Test
    void aFailingRowSourceFailsTheWriteWithItsException() {
        RuntimeException boom = new IllegalStateException("boom");
        GgufWriter w = new GgufWriter().threads(2).chunkBytes(256)
                .addTensor("x", GgmlType.F16, new long[]{40, 32}, (row, out) -> {
                    if (row == 17) {
                        throw boom;
                    }
                });
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> w.write(tmp.resolve("fail.gguf")));
        assertEquals(boom, e);
    }

    static float[] randomFloats(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    static float[] decode(TensorSource src, String name) {
        TensorInfo t = src.tensors().get(name);
        float[] out = new float[(int) t.elementCount()];
        Dequantize.row(t.type(), src.bytes(t), 0, out, 0, out.length);
        return out;
    }
}
