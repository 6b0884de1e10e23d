package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.EngineStats;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The shared-prefix workload of {@code mixtral bench --shared-prefix-tokens N} (issue 10): R requests whose prompts
 * share an N-token head and end in distinct tails, greedy, EOS ignored, all submitted at once; run with the prefix
 * cache on and then off, each on a fresh engine warmed up on unrelated prompts first. Reports, for each, the prompt
 * tokens the engine actually computed, those it took from the cache, the wall time and the generated tokens per
 * second of wall time (end to end: prefill and decode).
 */
final class SharedPrefixBench {

    private final Path model;
    private final EngineOptions options;
    private final int headTokens;
    private final int tailTokens;
    private final int requests;
    private final int newTokens;
    private final double warmupSeconds;

    SharedPrefixBench(Path model, EngineOptions options, int headTokens, int tailTokens, int requests, int newTokens,
                      double warmupSeconds) {
        if (headTokens < 1 || tailTokens < 1 || requests < 1 || newTokens < 1) {
            throw new IllegalArgumentException("--shared-prefix-tokens, --tail-tokens, --requests and --new-tokens "
                    + "must be >= 1, got " + headTokens + ", " + tailTokens + ", " + requests + ", " + newTokens);
        }
        this.model = model;
        this.options = options;
        this.headTokens = headTokens;
        this.tailTokens = tailTokens;
        this.requests = requests;
        this.newTokens = newTokens;
        this.warmupSeconds = warmupSeconds;
    }

    /** One row of figures per setting: prefix cache on, then off, with the ratios. */
    Map<String, Object> run() {
        Map<String, Object> on = measure(true);
        Map<String, Object> off = measure(false);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model.toString());
        o.put("requests", requests);
        o.put("shared_prefix_tokens", headTokens);
        o.put("tail_tokens", tailTokens);
        o.put("new_tokens", newTokens);
        o.put("threads", options.effectiveThreads());
        o.put("max_batch_size", options.maxBatchSize());
        o.put("kv_type", options.kvType());
        o.put("prefix_cache_on", on);
        o.put("prefix_cache_off", off);
        o.put("computed_prompt_tokens_off_over_on",
                ratio((long) off.get("computed_prompt_tokens"), (long) on.get("computed_prompt_tokens")));
        o.put("tokens_per_s_on_over_off", (double) on.get("tokens_per_s") / (double) off.get("tokens_per_s"));
        return o;
    }

    private Map<String, Object> measure(boolean prefixCache) {
        EngineOptions o = options.withPrefixCache(prefixCache);
        try (Engine engine = Engines.open(model, o)) {
            int vocab = engine.model().vocabSize();
            long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
            int round = 0;
            do {
                // unrelated prompts (another seed), so that nothing of the workload is cached before it starts
                generate(engine, workload(vocab, Math.min(requests, 8), 1000 + round), Math.min(newTokens, 8));
                round++;
            } while (System.nanoTime() < warmEnd);
            List<GenerationRequest> work = workload(vocab, requests, 7);
            EngineStats before = engine.stats();
            long t0 = System.nanoTime();
            generate(engine, work, newTokens);
            double seconds = (System.nanoTime() - t0) / 1e9;
            EngineStats d = engine.stats().minus(before);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("prompt_tokens", (long) requests * (headTokens + tailTokens));
            m.put("computed_prompt_tokens", d.promptTokens());
            m.put("cached_prompt_tokens", d.cachedPromptTokens());
            m.put("generated_tokens", d.generatedTokens());
            m.put("wall_s", seconds);
            m.put("tokens_per_s", d.generatedTokens() / seconds);
            return m;
        }
    }

    /** {@code count} prompts: BOS, one shared random head, then a distinct random tail each. */
    private List<GenerationRequest> workload(int vocab, int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] head = new int[headTokens];
        head[0] = 1;
        for (int j = 1; j < headTokens; j++) {
            head[j] = 3 + rnd.nextInt(vocab - 3);
        }
        List<GenerationRequest> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] ids = java.util.Arrays.copyOf(head, headTokens + tailTokens);
            for (int j = headTokens; j < ids.length; j++) {
                ids[j] = 3 + rnd.nextInt(vocab - 3);
            }
            out.add(new GenerationRequest("shared-" + i, ids, SamplingParams.builder().greedy()
                    .maxNewTokens(newTokens).ignoreEos(true).build()));
        }
        return out;
    }

    private static void generate(Engine engine, List<GenerationRequest> reqs, int newTokens) {
        List<GenerationRequest> sized = new ArrayList<>(reqs.size());
        for (GenerationRequest r : reqs) {
            sized.add(new GenerationRequest(r.id(), r.promptIds(), SamplingParams.builder().greedy()
                    .maxNewTokens(newTokens).ignoreEos(true).build()));
        }
        for (GenerationResult r : engine.generate(sized)) {
            if (!r.ok()) {
                throw new IllegalStateException("benchmark request " + r.id() + " failed: " + r.error());
            }
        }
    }

    private static double ratio(long a, long b) {
        return b == 0 ? Double.POSITIVE_INFINITY : (double) a / b;
    }
}
