package org.mixtralspark.udf.testing;

import org.mixtralspark.engine.cli.MixtralCli;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.udf.RowSeeds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Real, tiny, random-weight Mixtral models for tests, written once per build by the engine's own
 * {@code mixtral random-model} command (the one the README's demo uses), and the engine run alone on them, to compare
 * the Spark side's output with.
 */
public final class TinyModels {

    private TinyModels() {
    }

    /** {@code --preset tiny} (8 experts, 2 layers, 512-token vocabulary) as GGUF, under target/test-models. */
    public static synchronized Path tiny() {
        Path p = Path.of("target", "test-models", "tiny.gguf").toAbsolutePath();
        if (!Files.exists(p)) {
            try {
                Files.createDirectories(p.getParent());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            int rc = MixtralCli.run("random-model", "--out", p.toString(), "--preset", "tiny", "--seed", "1");
            if (rc != 0) {
                throw new IllegalStateException("mixtral random-model failed with exit code " + rc);
            }
        }
        return p;
    }

    /** The job's sampling defaults as its flags give them (64 new tokens, greedy), for a test to adjust. */
    public static SamplingParams.Builder jobDefaults() {
        return SamplingParams.builder().maxNewTokens(64).greedy();
    }

    /**
     * What the engine alone, outside Spark, generates for these prompts with the job's defaults (seeds derived from
     * the ids as the job derives them, when {@code jobSeed} is set): id → generated text.
     */
    public static Map<String, String> engineAlone(Path model, EngineOptions options, Map<String, String> prompts,
                                                  SamplingParams d, Long jobSeed) {
        Map<String, String> out = new LinkedHashMap<>();
        try (Engine engine = Engines.open(model, options)) {
            List<GenerationRequest> requests = new ArrayList<>();
            for (Map.Entry<String, String> e : prompts.entrySet()) {
                SamplingParams p = d.toBuilder()
                        .seed(jobSeed == null ? null : RowSeeds.derive(jobSeed, e.getKey()))
                        .build();
                requests.add(new GenerationRequest(e.getKey(), engine.tokenizer().encode(e.getValue()), p));
            }
            for (GenerationResult r : engine.generate(requests)) {
                out.put(r.id(), r.text());
            }
        }
        return out;
    }

    /**
     * For each wanted count, a text that the model's tokenizer turns into exactly that many ids (BOS included), found
     * by measuring repetitions of a few words; fails if a count cannot be hit.
     */
    public static Map<Integer, String> promptsOfTokenCounts(Path model, int... counts) {
        Map<Integer, String> out = new LinkedHashMap<>();
        try (Engine engine = Engines.open(model, EngineOptions.defaults().withThreads(1))) {
            for (int want : counts) {
                search:
                for (String word : List.of(" a", " the", " x", " hello", "a")) {
                    for (int k = 1; k <= 4 * want; k++) {
                        String text = ("seed" + word.repeat(k)).strip();
                        int n = engine.tokenizer().encode(text).length;
                        if (n == want) {
                            out.put(want, text);
                            break search;
                        }
                        if (n > want) {
                            break;
                        }
                    }
                }
                if (!out.containsKey(want)) {
                    throw new AssertionError("no text of exactly " + want + " tokens found");
                }
            }
        }
        return out;
    }

    /** Token count of a one-message user chat, rendered by the model's template (its {@code <s>} becoming BOS). */
    public static int chatPromptTokens(Path model, String userMessage) {
        try (Engine engine = Engines.open(model, EngineOptions.defaults().withThreads(1))) {
            String text = engine.chatTemplate().render(List.of(Map.of("role", "user", "content", userMessage)), true);
            int[] ids = engine.tokenizer().encode(text, false);
            if (ids[0] != engine.tokenizer().bosId()) {
                throw new AssertionError("the rendered template should start with BOS: " + text);
            }
            return ids.length;
        }
    }
}
