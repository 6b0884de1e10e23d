package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineStats;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code mixtral bench}: prefill and decode throughput of the engine, measured the way llama.cpp's
 * {@code llama-bench} (batch 1) and {@code llama-batched-bench} (parallel sequences) measure theirs, so the figures
 * can be set side by side. Random prompt ids, greedy decoding, EOS ignored.
 *
 * <ul>
 *   <li>prefill tokens/s: one prompt of {@code --prompt-tokens} ids, generating one token, best of the repeats;</li>
 *   <li>decode tokens/s at concurrency c: c sequences prefill together and then generate {@code --new-tokens} each;
 *       the tokens of the steps that held only decode tokens are divided by those steps' time (the engine's own
 *       step timer), i.e. aggregate generation throughput as llama-batched-bench's S_TG, without the prompt.</li>
 * </ul>
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill and decode tokens/s of the engine on a model.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @Option(names = "--prompt-tokens", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens = 128;

    @Option(names = "--new-tokens", description = "Tokens generated per sequence (default ${DEFAULT-VALUE}).")
    int newTokens = 32;

    @Option(names = "--concurrency", split = ",", description = "Parallel sequences (default ${DEFAULT-VALUE}).")
    int[] concurrency = {1, 8, 32};

    @Option(names = "--repeats", description = "Runs per figure; the best is reported (default ${DEFAULT-VALUE}).")
    int repeats = 2;

    @Option(names = "--warmup-seconds", description = "Untimed runs first, for at least this long, so that the JIT "
            + "has compiled the kernels (default ${DEFAULT-VALUE}).")
    double warmupSeconds = 10;

    @Option(names = "--shared-prefix-tokens", description = "Instead of the prefill/decode figures, the shared-prefix "
            + "workload: --requests prompts sharing a head of this many tokens, each with its own --tail-tokens tail, "
            + "--new-tokens each, run with the prefix cache on and then off (0 = off, the default).")
    int sharedPrefixTokens = 0;

    @Option(names = "--tail-tokens", description = "Shared-prefix workload: distinct tokens after the head "
            + "(default ${DEFAULT-VALUE}).")
    int tailTokens = 64;

    @Option(names = "--requests", description = "Shared-prefix workload: requests, all submitted at once "
            + "(default ${DEFAULT-VALUE}).")
    int requests = 512;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Option(names = "--routing-stats", paramLabel = "PATH",
            description = "Write the expert routing statistics of every benchmark token (warm-up included) to this "
                    + "JSON file (random prompts: the counts show the routing of the model, not of a workload).")
    Path routingStats;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Override
    public Integer call() {
        if (sharedPrefixTokens > 0) {
            return sharedPrefix();
        }
        long weightBytesPerToken;
        long totalWeightBytes;
        try (LoadedModel m = ModelLoader.load(model)) {
            weightBytesPerToken = m.weights().activeBytesPerToken();
            totalWeightBytes = m.weights().totalBytes();
        }
        int maxC = 1;
        for (int c : concurrency) {
            maxC = Math.max(maxC, c);
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Engine engine = Engines.open(model, engineOptions.toOptions()
                .withMaxBatchSize(Math.max(maxC, engineOptions.maxBatchSize))
                .withContextLength(Math.max(engineOptions.contextLength, 0)))) {
            int vocab = engine.model().vocabSize();
            // warm up: the JIT compiles a kernel after thousands of calls or loop trips, then recompiles it as the
            // batch sizes it sees change; a small model takes seconds of steps to get there, a large one one run
            long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
            int warmRun = 0;
            do {
                // every other run a single prompt of the measured length, decoding alone, so that the prefill and
                // the one-token kernels are compiled too
                boolean full = warmRun % 2 == 1;
                run(engine, prompts(vocab, full ? 1 : Math.min(1 + warmRun / 2 % 8, maxC),
                        full ? promptTokens : Math.min(promptTokens, 32), 99 + warmRun), 8);
                warmRun++;
            } while (System.nanoTime() < warmEnd || warmRun < 2);

            double prefill = 0;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                run(engine, prompts(vocab, 1, promptTokens, r), 1);
                prefill = Math.max(prefill, promptTokens * 1e9 / (System.nanoTime() - t0));
            }
            if (!json) {
                out.printf("model %s: %,d weight bytes, %,d read per token; %d threads%n", model, totalWeightBytes,
                        weightBytesPerToken, engineOptions.toOptions().effectiveThreads());
                out.printf("prefill  %5d tokens: %10.1f tokens/s%n", promptTokens, prefill);
            }
            List<Map<String, Object>> decode = new ArrayList<>();
            for (int c : concurrency) {
                double best = 0;
                for (int r = 0; r < repeats; r++) {
                    List<GenerationRequest> ps = prompts(vocab, c, promptTokens, 1000 + r);
                    EngineStats before = engine.stats();
                    run(engine, ps, newTokens);
                    EngineStats d = engine.stats().minus(before);
                    double rate = d.decodeStepTokens() * 1e9 / Math.max(1, d.decodeStepNanos());
                    best = Math.max(best, rate);
                }
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("concurrency", c);
                row.put("tokens_per_s", best);
                decode.add(row);
                if (!json) {
                    out.printf("decode   c=%-4d      : %10.1f tokens/s (aggregate)%n", c, best);
                }
            }
            long rss = peakRssBytes();
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("model", model.toString());
                o.put("threads", engineOptions.toOptions().effectiveThreads());
                o.put("prompt_tokens", promptTokens);
                o.put("new_tokens", newTokens);
                o.put("prefill_tokens_per_s", prefill);
                o.put("decode", decode);
                o.put("peak_rss_bytes", rss);
                o.put("weight_bytes_per_token", weightBytesPerToken);
                o.put("weight_bytes_total", totalWeightBytes);
                out.println(Json.write(o));
            } else {
                out.printf("peak RSS %,d bytes%n", rss);
            }
            if (routingStats != null) {
                RoutingStatsFile.write(engine, routingStats);
            }
        }
        return 0;
    }

    /** The shared-prefix workload, cache on vs off, in one run. */
    private int sharedPrefix() {
        Map<String, Object> o = new SharedPrefixBench(model, engineOptions.toOptions(), sharedPrefixTokens, tailTokens,
                requests, newTokens, warmupSeconds).run();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (json) {
            out.println(Json.write(o));
            return 0;
        }
        out.printf("model %s: %d requests, %d-token shared head + %d-token tails, %d new tokens each; %d threads, "
                        + "max batch %d, kv %s%n", model, requests, sharedPrefixTokens, tailTokens, newTokens,
                o.get("threads"), o.get("max_batch_size"), o.get("kv_type"));
        for (String k : new String[] {"prefix_cache_on", "prefix_cache_off"}) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) o.get(k);
            out.printf("%-17s: %,d of %,d prompt tokens computed (%,d from the cache), %,d generated in %.1f s = "
                            + "%.1f tokens/s%n", k.replace('_', ' '), m.get("computed_prompt_tokens"),
                    m.get("prompt_tokens"), m.get("cached_prompt_tokens"), m.get("generated_tokens"), m.get("wall_s"),
                    m.get("tokens_per_s"));
        }
        out.printf("prompt tokens computed: %.1fx fewer with the cache; tokens/s: %.2fx%n",
                o.get("computed_prompt_tokens_off_over_on"), o.get("tokens_per_s_on_over_off"));
        out.printf("peak RSS %,d bytes%n", peakRssBytes());
        return 0;
    }

    private List<GenerationRequest> prompts(int vocab, int count, int length, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] ids = new int[length];
            ids[0] = 1;
            for (int j = 1; j < length; j++) {
                ids[j] = 3 + rnd.nextInt(vocab - 3);
            }
            out.add(new GenerationRequest("b" + i, ids, SamplingParams.defaults()));
        }
        return out;
    }

    private static void run(Engine engine, List<GenerationRequest> prompts, int newTokens) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (GenerationRequest p : prompts) {
            reqs.add(new GenerationRequest(p.id(), p.promptIds(), SamplingParams.builder().greedy()
                    .maxNewTokens(newTokens).ignoreEos(true).build()));
        }
        for (GenerationResult r : engine.generate(reqs)) {
            if (!r.ok()) {
                throw new IllegalStateException("benchmark request failed: " + r.error());
            }
        }
    }

    /** VmHWM of this process (Linux), or -1. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
