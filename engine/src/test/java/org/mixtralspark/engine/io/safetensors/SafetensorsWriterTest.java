package org.mixtralspark.engine.io.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.ModelFiles;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;
import org.mixtralspark.engine.tensor.Dequantize;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Write with {@link SafetensorsWriter}, read with {@link SafetensorsCheckpoint}: same names, shapes and values. */
class SafetensorsWriterTest {

    @TempDir
    Path tmp;

    @Test
    void everyDtypeRoundTrips() {
        Random rnd = new Random(3);
        float[] a = floats(rnd, 6);
        float[] b = floats(rnd, 2 * 3 * 4);
        float[] c = floats(rnd, 5);
        Path file = tmp.resolve("model.safetensors");
        new SafetensorsWriter()
                .add("z.f32", GgmlType.F32, new long[]{2, 3}, a)
                .add("a.f16", GgmlType.F16, new long[]{2, 3, 4}, b)
                .add("m.bf16", GgmlType.BF16, new long[]{5}, c)
                .write(file);
        assertEquals(0, (8 + headerLength(file)) % 8);
        try (TensorSource st = ModelFiles.open(tmp)) {
            assertInstanceOf(SafetensorsCheckpoint.class, st);
            // file order is data order, which is name order
            assertEquals(List.of("a.f16", "m.bf16", "z.f32"), new ArrayList<>(st.tensors().keySet()));
            assertArrayEquals(new long[]{2, 3}, st.tensors().get("z.f32").shape());
            assertArrayEquals(new long[]{2, 3, 4}, st.tensors().get("a.f16").shape());
            assertEquals(GgmlType.BF16, st.tensors().get("m.bf16").type());
            assertArrayEquals(a, decode(st, "z.f32"));
            float[] bb = decode(st, "a.f16");
            for (int i = 0; i < b.length; i++) {
                assertEquals(Float16.toFloat(Float16.fromFloat(b[i])), bb[i]);
            }
            float[] cc = decode(st, "m.bf16");
            for (int i = 0; i < c.length; i++) {
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat(c[i])), cc[i]);
            }
        }
    }

    @Test
    void shardsWithAnIndexRoundTrip() {
        Random rnd = new Random(5);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, String> weightMap = new LinkedHashMap<>();
        SafetensorsWriter one = new SafetensorsWriter();
        SafetensorsWriter two = new SafetensorsWriter();
        for (int i = 0; i < 6; i++) {
            String name = "layer." + i + ".weight";
            values.put(name, floats(rnd, 8));
            (i < 4 ? one : two).add(name, GgmlType.F32, new long[]{2, 4}, values.get(name));
            weightMap.put(name, i < 4 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        long total = one.write(tmp.resolve("model-00001-of-00002.safetensors"))
                + two.write(tmp.resolve("model-00002-of-00002.safetensors"));
        assertEquals(6 * 8 * 4, total);
        SafetensorsWriter.writeIndex(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE), weightMap, total);
        assertEquals(total, Oracle.readJson(tmp.resolve(SafetensorsCheckpoint.INDEX_FILE)).get("metadata").get("total_size").asLong());
        try (SafetensorsCheckpoint st = SafetensorsCheckpoint.open(tmp)) {
            assertEquals(2, st.files().size());
            assertEquals(values.keySet(), st.tensors().keySet());
            values.forEach((name, v) -> assertArrayEquals(v, decode(st, name), name));
            assertEquals("model-00002-of-00002.safetensors", st.tensor("layer.5.weight").file().getFileName().toString());
        }
    }

    /** The oracle's files were written as safetensors.torch.save_file writes; ours are byte-identical to them. */
    @ParameterizedTest
    @ValueSource(strings = {"mini-mistral-hf/model.safetensors", "kquant-hf-bf16/model.safetensors",
            "kquant-hf/model-00001-of-00002.safetensors", "kquant-hf/model-00002-of-00002.safetensors"})
    void rewritingTheOracleFilesReproducesThemByteForByte(String file) throws Exception {
        Path original = Oracle.model(file);
        Path copy = tmp.resolve("copy.safetensors");
        try (SafetensorsCheckpoint st = SafetensorsCheckpoint.open(original)) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (TensorInfo t : st.tensors().values()) {
                w.add(t.name(), t.type(), t.shape(), decode(st, t.name()));
            }
            w.write(copy);
        }
        assertEquals(-1L, Files.mismatch(original, copy), original.toString());
    }

    private static long headerLength(Path file) {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            return SafetensorsHeader.readBytes(ch, file, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static float[] floats(Random rnd, int n) {
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
