package org.mixtralspark.engine.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared oracle folder ({@code ../shared/oracle}, README there): tiny Mixtral models and reference outputs of
 * llama.cpp, HF transformers and exact float64 math. Tests that need it skip, saying so, when it is absent.
 */
public final class Oracle {

    private Oracle() {
    }

    /** The oracle folder; skips the calling test when it is not there. */
    public static Path dir() {
        String p = System.getProperty("mixtral.oracle.dir", "../shared/oracle");
        Path dir = Path.of(p).toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isDirectory(dir.resolve("references")),
                "SKIPPED: oracle folder not found at " + dir + " (set -Dmixtral.oracle.dir)");
        return dir;
    }

    /** A model file or folder of the oracle; skips when absent. */
    public static Path model(String name) {
        Path p = dir().resolve("models").resolve(name);
        Assumptions.assumeTrue(Files.exists(p), "SKIPPED: oracle model not found: " + p);
        return p;
    }

    /** One reference JSON: {@code kind} is llamacpp, hf or exact-f64; {@code stem} the model file's stem. */
    public static Reference reference(String kind, String stem) {
        Path file = dir().resolve("references").resolve(kind).resolve(stem + ".json");
        Assumptions.assumeTrue(Files.isRegularFile(file), "SKIPPED: oracle reference not found: " + file);
        try {
            return new Reference(dir(), new ObjectMapper().readTree(file.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A reference file (schema mixtral-oracle-reference/1). */
    public record Reference(Path dir, JsonNode root) {

        public int vocab() {
            return root.get("n_vocab").asInt();
        }

        public List<Prompt> prompts() {
            List<Prompt> out = new ArrayList<>();
            for (JsonNode p : root.get("prompts")) {
                out.add(new Prompt(dir, p));
            }
            return out;
        }

        public Prompt prompt(String name) {
            return prompts().stream().filter(p -> p.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no prompt " + name));
        }
    }

    /** One prompt's reference outputs. */
    public record Prompt(Path dir, JsonNode node) {

        public String name() {
            return node.get("name").asText();
        }

        public int[] promptIds() {
            return ints(node.get("prompt_ids"));
        }

        public int[] greedyIds() {
            return ints(node.get("greedy_ids"));
        }

        public float[] lastLogits() {
            return floats(dir.resolve(node.get("last_logits").get("path").asText()));
        }

        /** All positions' logits, (n_prompt, vocab), or null when this prompt has none. */
        public float[] allLogits() {
            JsonNode a = node.get("all_logits");
            return a == null || a.isNull() ? null : floats(dir.resolve(a.get("path").asText()));
        }

        public int[] lastTop5Ids() {
            return ints(node.get("last_top5").get("ids"));
        }

        /** Step i: the top-5 after feeding greedy_ids[0..i-1]. */
        public List<Top5> greedyStepsTop5() {
            List<Top5> out = new ArrayList<>();
            for (JsonNode s : node.get("greedy_steps_top5")) {
                out.add(new Top5(ints(s.get("ids")), floatsOf(s.get("logits"))));
            }
            return out;
        }

        /** Position i: the top-5 of the next-token distribution after prompt_ids[0..i]. */
        public List<Top5> positionsTop5() {
            List<Top5> out = new ArrayList<>();
            for (JsonNode s : node.get("positions_top5")) {
                out.add(new Top5(ints(s.get("ids")), floatsOf(s.get("logits"))));
            }
            return out;
        }
    }

    public record Top5(int[] ids, float[] logits) {
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static float[] floatsOf(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    static float[] floats(Path bin) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[b.remaining() / 4];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
