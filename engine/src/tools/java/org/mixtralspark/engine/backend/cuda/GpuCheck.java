package org.mixtralspark.engine.backend.cuda;


import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What scripts/gpu-check.sh runs on a GPU machine, writing JSON:
 *
 * <pre>
 * GpuCheck equivalence --oracle DIR --out FILE [--commit SHA]   CUDA vs CPU on oracle and generated models
 * GpuCheck bench --out FILE [--commit SHA] [--layers N] [--seconds S]   Mixtral 8x7B shape, random bf16 weights
 * </pre>
 * Exit status 0 when everything passed, 1 when a comparison failed, 2 on an error.
 */
public final class GpuCheck {

    /** Oracle models compared (in the carried folder); absent ones are reported and skipped. */
    static final String[] ORACLE_MODELS = {"mini-mistral-q8_0.gguf", "kquant-q8_0.gguf", "kquant-hf-bf16"};

    private GpuCheck() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> a = options(args);
        String mode = args.length == 0 ? "" : args[0];
        Path out = Path.of(a.getOrDefault("out", mode + ".json"));
        CudaAvailability cuda = CudaAvailability.probe();
        System.out.println(cuda.describe());
        if (!cuda.available()) {
            System.exit(2);
        }
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("device", cuda.describe());
        json.put("commit", a.getOrDefault("commit", "unknown"));
        boolean pass;
        switch (mode) {
            case "equivalence" -> pass = equivalence(Path.of(a.getOrDefault("oracle", "oracle")), json);
            case "bench" -> {
                int layers = Integer.parseInt(a.getOrDefault("layers", "32"));
                double seconds = Double.parseDouble(a.getOrDefault("seconds", "240"));
                MixtralConfig c = MixtralConfig.mixtral8x7b().withLayers(layers);
                json.put("model", "Mixtral-8x7B shape (" + layers + " layers), random bf16 weights generated on the "
                        + "device");
                Runnable save = () -> {
                    if (json.containsKey("gpu_name")) {
                        json.put("device", json.get("gpu_name") + ", driver CUDA " + cuda.driver());
                    }
                    try {
                        m.writeValue(out.toFile(), json);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                };
                GpuBenchmark.run(c, 0, seconds, json, save);
                pass = true;
            }
            default -> {
                System.err.println("usage: GpuCheck equivalence|bench --out FILE [--oracle DIR] [--commit SHA] "
                        + "[--layers N] [--seconds S]");
                System.exit(2);
                return;
            }
        }
        m.writeValue(out.toFile(), json);
        if (mode.equals("bench")) {
            System.out.println(m.writeValueAsString(json));
        }
        System.out.println("wrote " + out + (pass ? "" : ": FAILED"));
        System.exit(pass ? 0 : 1);
    }

    private static boolean equivalence(Path oracle, Map<String, Object> json) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        boolean pass = true;
        Path tmp = Files.createTempDirectory("gpu-check");
        List<Path> models = new ArrayList<>();
        for (String name : ORACLE_MODELS) {
            Path p = oracle.resolve("models").resolve(name);
            if (Files.exists(p)) {
                models.add(p);
            } else {
                skipped.add(p + " (not found)");
            }
        }
        // generated: odd widths (vocab 1000, hidden 200, 6 heads of 16 in 2 KV groups of 3), and a dense model
        models.add(generated(tmp, "odd-shapes", new MixtralConfig(1000, 96, 200, 2, 6, 2, 16, 4, 2, 1e4, 1e-5f,
                2048)));
        models.add(generated(tmp, "dense", new MixtralConfig(700, 128, 256, 2, 8, 8, 16, 1, 1, 1e4, 1e-6f, 2048)));
        int threads = Runtime.getRuntime().availableProcessors();
        String device = null;
        for (Path p : models) {
            try (LoadedModel m = ModelLoader.load(p)) {
                for (Precision precision : Precision.values()) {
                    String name = p.getFileName().toString();
                    long t0 = System.nanoTime();
                    for (Equivalence.Result r : Equivalence.compare(m.weights(), name, precision, 0, threads)) {
                        device = r.device();
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("model", r.model());
                        row.put("precision", r.precision());
                        row.put("scenario", r.scenario());
                        row.put("logit_rows", r.logitRows());
                        row.put("rel_l2", r.relL2());
                        row.put("median_row_rel_l2", r.medianRowRelL2());
                        row.put("max_row_rel_l2", r.maxRowRelL2());
                        row.put("max_abs_diff", r.maxAbs());
                        row.put("max_abs_cpu_logit", r.maxAbsReference());
                        row.put("argmax_agreement", r.argmaxAgreement());
                        row.put("greedy_identical", r.greedyIdentical());
                        row.put("pass", r.pass());
                        row.put("note", r.note());
                        rows.add(row);
                        pass &= r.pass();
                        System.out.printf(Locale.ROOT, "%-4s %-4s %-22s %-60s rel %.1e (median row %.1e, worst row "
                                        + "%.1e) max|d| %.1e argmax %.3f %s%n", r.pass() ? "PASS" : "FAIL",
                                r.precision(), r.model(), r.scenario(), r.relL2(), r.medianRowRelL2(),
                                r.maxRowRelL2(), r.maxAbs(), r.argmaxAgreement(), r.note());
                    }
                    System.out.printf(Locale.ROOT, "  (%s %s: %.1f s)%n", p.getFileName(), precision,
                            (System.nanoTime() - t0) / 1e9);
                }
            }
        }
        json.put("tolerance", Map.of(
                "f32", "rel L2 <= " + Equivalence.F32_REL_L2 + ", max |diff| <= " + Equivalence.F32_MAX_ABS
                        + ", greedy continuations identical",
                "bf16", "median row rel L2 <= " + Equivalence.BF16_MEDIAN_REL_L2 + " and overall rel L2 <= "
                        + Equivalence.BF16_REL_L2 + " (teacher-forced on the CPU's greedy path)"));
        if (device != null) {
            json.put("device", device);
        }
        json.put("results", rows);
        json.put("skipped", skipped);
        json.put("pass", pass);
        return pass;
    }

    private static Path generated(Path dir, String name, MixtralConfig c) {
        Path p = dir.resolve(name + ".gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create(name, c, 17), p, GgmlType.BF16, false);
        return p;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        return m;
    }
}
