package org.mixtralspark.engine.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The one way tests reach the oracle: tiny Mixtral models and the reference outputs of llama.cpp, HF transformers and
 * exact float64 math (README of {@code ../shared/oracle}). Every file is named by its path inside the oracle folder,
 * e.g. {@code models/kquant-q4_k_m.gguf} or {@code references/prompts.json}, and looked up
 * <ol>
 * <li>in the shared oracle folder, the system property {@code mixtral.oracle.dir} (the build sets it to
 * {@code <root>/../shared/oracle}; without it {@code ../shared/oracle} and {@code ../../shared/oracle} are tried);</li>
 * <li>else in the subset bundled with the tests ({@code src/test/resources/oracle}, PROVENANCE.md there), so that a
 * clone without {@code ../shared} still compares against the oracle;</li>
 * <li>else the calling test is aborted through a JUnit assumption: reported as skipped, with the path and the places
 * looked in, never as passed.</li>
 * </ol>
 * A model folder (an HF checkpoint) comes from the bundle only when the bundle holds every file the oracle's
 * {@code models/MANIFEST.sha256} lists for it. {@code -Dmixtral.oracle.bundle=false} leaves the bundle out (to count
 * the tests that need the oracle: with no shared folder either, each of them skips).
 */
public final class Oracle {

    /** The bundle's file list (sha256sum format); its folder is the bundle's root. */
    static final String BUNDLE_LIST = "/oracle/BUNDLED.sha256";

    private static final Path SHARED = sharedFolder();
    private static final Path BUNDLE = bundleFolder();
    /** Path inside the oracle -> sha256, for every bundled file. */
    private static final Map<String, String> BUNDLED = BUNDLE == null ? Map.of() : readSums(BUNDLE.resolve("BUNDLED.sha256"), "");
    /** The oracle's own model manifest (bundled copy): path inside the oracle -> sha256. */
    private static final Map<String, String> MANIFEST = BUNDLE == null ? Map.of()
            : readSums(BUNDLE.resolve("models/MANIFEST.sha256"), "models/");

    private Oracle() {
    }

    // ---- where files come from

    /** The shared oracle folder, or null where there is none. */
    public static Path sharedDir() {
        return SHARED;
    }

    /** The bundled subset's folder (on the test class path), or null where the tests run without it. */
    public static Path bundleDir() {
        return BUNDLE;
    }

    /** The bundled files (paths inside the oracle) with their sha256, as BUNDLED.sha256 lists them. */
    public static Map<String, String> bundledFiles() {
        return Collections.unmodifiableMap(BUNDLED);
    }

    /** Whether {@code path} (inside the oracle) can be had, shared or bundled. Never skips. */
    public static boolean has(String path) {
        return locate(path) != null;
    }

    /** A file or model folder of the oracle; skips the calling test, saying what is missing, when neither has it. */
    public static Path file(String path) {
        Path p = locate(path);
        Assumptions.assumeTrue(p != null, () -> "oracle: " + path + " is in neither the shared oracle ("
                + (SHARED == null ? "no ../shared/oracle; -Dmixtral.oracle.dir=" + System.getProperty("mixtral.oracle.dir")
                : SHARED) + ") nor the bundled subset (engine/src/test/resources/oracle"
                + (BUNDLE == null ? ", not on this class path or -Dmixtral.oracle.bundle=false" : "") + ")");
        return p;
    }

    /** {@code models/<name>}: a GGUF file or an HF folder. */
    public static Path model(String name) {
        return file("models/" + name);
    }

    /**
     * The folder {@code models/<name>} for its tokenizer files only ({@code tokenizer.json},
     * {@code tokenizer_config.json}): the bundle holds these without the weights for mini-mistral-hf.
     */
    public static Path tokenizerFolder(String name) {
        Path json = file("models/" + name + "/tokenizer.json");
        Path config = file("models/" + name + "/tokenizer_config.json");
        Assumptions.assumeTrue(json.getParent().equals(config.getParent()),
                "oracle: the tokenizer files of " + name + " come from two places");
        return json.getParent();
    }

    private static Path locate(String path) {
        if (SHARED != null && Files.exists(SHARED.resolve(path))) {
            return SHARED.resolve(path);
        }
        if (BUNDLE == null) {
            return null;
        }
        if (BUNDLED.containsKey(path)) {
            return BUNDLE.resolve(path);
        }
        // a folder: only when the bundle holds all of it
        String prefix = path.endsWith("/") ? path : path + "/";
        List<String> parts = MANIFEST.keySet().stream().filter(k -> k.startsWith(prefix)).toList();
        return !parts.isEmpty() && BUNDLED.keySet().containsAll(parts) ? BUNDLE.resolve(path) : null;
    }

    private static Path sharedFolder() {
        String prop = System.getProperty("mixtral.oracle.dir");
        List<Path> candidates = prop != null && !prop.isBlank() ? List.of(Path.of(prop))
                : List.of(Path.of("../shared/oracle"), Path.of("../../shared/oracle"));
        for (Path c : candidates) {
            if (Files.isDirectory(c)) {
                return c.toAbsolutePath().normalize();
            }
        }
        return null;
    }

    private static Path bundleFolder() {
        if (System.getProperty("mixtral.oracle.bundle", "true").equals("false")) {
            return null;
        }
        URL url = Oracle.class.getResource(BUNDLE_LIST);
        if (url == null || !url.getProtocol().equals("file")) {
            return null;
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url.toString(), e);
        }
    }

    /** sha256sum lines "HEX  path" as path (with {@code prefix}) -> HEX, in file order. */
    static Map<String, String> readSums(Path file, String prefix) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.put(prefix + line.substring(66).trim(), line.substring(0, 64));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    // ---- what tests read

    /** A JSON file of the oracle. */
    public static JsonNode json(String path) {
        return readJson(file(path));
    }

    public static JsonNode readJson(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One reference JSON: {@code kind} is llamacpp, hf or exact-f64; {@code stem} the model file's stem. */
    public static Reference reference(String kind, String stem) {
        return new Reference(json("references/" + kind + "/" + stem + ".json"));
    }

    /** {@code references/dequant/<stem>.json}: every tensor's type, ne and dequantisation checksum. */
    public static JsonNode dequantReference(String stem) {
        return json("references/dequant/" + stem + ".json");
    }

    /**
     * Stems of the GGUF files at hand (shared or bundled) that have a {@code references/dequant/<stem>.json}; skips
     * when there is none.
     */
    public static List<String> shippedGgufStems() {
        TreeSet<String> names = new TreeSet<>();
        if (SHARED != null && Files.isDirectory(SHARED.resolve("models"))) {
            try (Stream<Path> files = Files.list(SHARED.resolve("models"))) {
                files.map(p -> "models/" + p.getFileName()).forEach(names::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        names.addAll(BUNDLED.keySet());
        List<String> stems = new ArrayList<>();
        for (String n : names) {
            if (n.startsWith("models/") && n.endsWith(".gguf") && n.indexOf('/', "models/".length()) < 0) {
                String stem = n.substring("models/".length(), n.length() - ".gguf".length());
                if (has("references/dequant/" + stem + ".json")) {
                    stems.add(stem);
                }
            }
        }
        Assumptions.assumeFalse(stems.isEmpty(), "oracle: no GGUF with a dequant reference, shared or bundled");
        return stems;
    }

    /** A reference file (schema mixtral-oracle-reference/1). */
    public record Reference(JsonNode root) {

        public int vocab() {
            return root.get("n_vocab").asInt();
        }

        public List<Prompt> prompts() {
            List<Prompt> out = new ArrayList<>();
            for (JsonNode p : root.get("prompts")) {
                out.add(new Prompt(p));
            }
            return out;
        }

        public Prompt prompt(String name) {
            return prompts().stream().filter(p -> p.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no prompt " + name));
        }
    }

    /** One prompt's reference outputs; its logit files are found like any other oracle file. */
    public record Prompt(JsonNode node) {

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
            return floats(file(node.get("last_logits").get("path").asText()));
        }

        /** All positions' logits, (n_prompt, vocab), or null when this prompt has none. */
        public float[] allLogits() {
            JsonNode a = node.get("all_logits");
            return a == null || a.isNull() ? null : floats(file(a.get("path").asText()));
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

    public static int[] ints(JsonNode a) {
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
