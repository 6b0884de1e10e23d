package org.mixtralspark.engine.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.RopeScaling;
import org.mixtralspark.engine.model.gen.Checkpoint;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.tensor.GgmlType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model with {@code rope_scaling} (issue 10) against transformers: the tiny bf16 Mixtral in {@code rope/model} with
 * config.json's rope_scaling null, linear or llama3, run by MixtralForCausalLM in float64
 * ({@code rope/model-logits.json}, written by {@code engine/src/test/python/rope_scaling_reference.py}); our batched
 * pass (chunked prefill) and our reference pass must give its logits, which differ from the unscaled model's. A
 * llama3 GGUF file carries the scaling as {@code rope_freqs.weight} (as llama.cpp's converter writes it) and must give
 * what its HF folder gives.
 */
class RopeScalingModelTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode reference() throws IOException {
        try (InputStream in = RopeScalingModelTest.class.getResourceAsStream("/rope/model-logits.json")) {
            assertTrue(in != null, "test resource rope/model-logits.json");
            return JSON.readTree(in);
        }
    }

    /** The committed model folder, copied with config.json's rope_scaling set to {@code scaling}. */
    private static Path model(Path dir, JsonNode scaling) throws IOException {
        Path folder = dir.resolve("model");
        Files.createDirectories(folder);
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            try (InputStream in = RopeScalingModelTest.class.getResourceAsStream("/rope/model/" + f)) {
                assertTrue(in != null, "test resource rope/model/" + f);
                Files.copy(in, folder.resolve(f));
            }
        }
        ObjectNode cfg = (ObjectNode) JSON.readTree(folder.resolve("config.json").toFile());
        cfg.set("rope_scaling", scaling);
        Files.writeString(folder.resolve("config.json"), cfg.toString());
        return folder;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** The logits at every position of {@code prompt}, prefilled in steps of {@code chunk} tokens (f32 KV, exact). */
    static float[] prefill(LoadedModel m, int[] prompt, int chunk) {
        try (ThreadTeam team = new ThreadTeam(2, "rope")) {
            int vocab = m.config().vocabSize();
            PagedKvCache cache = new PagedKvCache(m.config(), (prompt.length + 15) / 16 + 1, 16, KvType.F32);
            BatchForward f = new BatchForward(m.weights(), CpuMath.exact(), team, cache);
            BlockTable t = new BlockTable();
            assertTrue(cache.allocator().reserve(t, prompt.length), "the cache holds the prompt");
            float[] all = new float[prompt.length * vocab];
            for (int from = 0; from < prompt.length; from += chunk) {
                int n = Math.min(chunk, prompt.length - from);
                int[] ids = new int[n];
                int[] positions = new int[n];
                BlockTable[] tables = new BlockTable[n];
                int[] rows = new int[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = prompt[from + i];
                    positions[i] = from + i;
                    tables[i] = t;
                    rows[i] = i;
                }
                float[] logits = f.forward(ids, positions, tables, rows);
                System.arraycopy(logits, 0, all, from * vocab, n * vocab);
            }
            cache.allocator().release(t);
            return all;
        }
    }

    private static float maxDiff(float[] ours, int position, int vocab, JsonNode theirs) {
        float worst = 0;
        for (int v = 0; v < vocab; v++) {
            worst = Math.max(worst, Math.abs(ours[position * vocab + v] - (float) theirs.get(v).asDouble()));
        }
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "linear", "llama3"})
    void theScaledModelGivesTransformersLogits(String kind, @TempDir Path dir) throws IOException {
        JsonNode ref = reference();
        int[] prompt = ints(ref.get("prompt"));
        int[] positions = ints(ref.get("positions"));
        JsonNode theirs = ref.get("logits").get(kind);
        JsonNode unscaled = ref.get("logits").get("none");
        try (LoadedModel m = ModelLoader.load(model(dir, ref.get("scalings").get(kind)))) {
            assertEquals(kind.equals("none"), m.config().ropeScaling().isNone(), m.config().ropeScaling().toString());
            int vocab = m.config().vocabSize();
            float[] batched = prefill(m, prompt, 64); // chunked: positions past the first chunk read the cache
            ReferenceForward refPass = new ReferenceForward(m.weights());
            ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), prompt.length);
            float[] single = new float[prompt.length * vocab];
            for (int i = 0; i < prompt.length; i++) {
                System.arraycopy(refPass.forward(seq, prompt[i]), 0, single, i * vocab, vocab);
            }
            float changed = 0;
            for (int p = 0; p < positions.length; p++) {
                // the bound the oracle README prescribes for exact math against transformers
                float b = maxDiff(batched, positions[p], vocab, theirs.get(p));
                float r = maxDiff(single, positions[p], vocab, theirs.get(p));
                assertTrue(b < 1e-3f, kind + ", batched, position " + positions[p] + ": " + b);
                assertTrue(r < 1e-3f, kind + ", reference pass, position " + positions[p] + ": " + r);
                changed = Math.max(changed, maxDiff(batched, positions[p], vocab, unscaled.get(p)));
            }
            if (!kind.equals("none")) {
                assertTrue(changed > 0.5f, kind + " changes the logits: " + changed);
            }
        }
    }

    @Test
    void aLlama3GgufCarriesItsScalingAsRopeFreqsAndMatchesItsHfFolder(@TempDir Path dir) {
        MixtralConfig c = new MixtralConfig(300, 32, 48, 2, 2, 1, 16, 4, 2, 1e4, 1e-5f, 8192)
                .withRopeScaling(RopeScaling.llama3(8, 1, 8, 1024));
        Checkpoint ckpt = RandomCheckpoints.create("llama3", c, 5);
        Path hf = dir.resolve("hf");
        Path gguf = dir.resolve("m.gguf");
        Path plainGguf = dir.resolve("plain.gguf");
        CheckpointWriter.writeHf(ckpt, hf, GgmlType.F32, 1);
        CheckpointWriter.writeGguf(ckpt, gguf, GgmlType.F32, false);
        CheckpointWriter.writeGguf(RandomCheckpoints.create("llama3", c.withRopeScaling(RopeScaling.none()), 5),
                plainGguf, GgmlType.F32, false);
        int[] prompt = new int[200];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 53) % 290;
        }
        float[] fromHf;
        float[] fromGguf;
        float[] plain;
        int vocab = c.vocabSize();
        try (LoadedModel m = ModelLoader.load(hf)) {
            assertEquals(c.ropeScaling(), m.config().ropeScaling());
            fromHf = prefill(m, prompt, 200);
        }
        try (LoadedModel m = ModelLoader.load(gguf)) {
            double[] divisors = m.config().ropeScaling().frequencyDivisors();
            assertTrue(divisors != null && divisors.length == 8, "rope_freqs.weight read");
            double[] inv = m.config().ropeInverseFrequencies();
            double[] expected = c.ropeInverseFrequencies();
            for (int i = 0; i < inv.length; i++) {
                assertEquals(expected[i], inv[i], 1e-6 * expected[i], "frequency " + i);
            }
            fromGguf = prefill(m, prompt, 200);
        }
        try (LoadedModel m = ModelLoader.load(plainGguf)) {
            assertTrue(m.config().ropeScaling().isNone());
            plain = prefill(m, prompt, 200);
        }
        float same = 0;
        float differs = 0;
        for (int v = 0; v < vocab; v++) {
            int last = (prompt.length - 1) * vocab + v;
            same = Math.max(same, Math.abs(fromHf[last] - fromGguf[last]));
            differs = Math.max(differs, Math.abs(fromHf[last] - plain[last]));
        }
        assertTrue(same < 1e-3f, "GGUF (rope_freqs) vs HF (rope_scaling): " + same);
        assertTrue(differs > 0.1f, "the scaling matters here: " + differs);
    }
}
