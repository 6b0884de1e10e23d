package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.constrain.ConstrainedDecoding;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.constrain.TokenConstraint;
import org.mixtralspark.engine.constrain.TokenMasks;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.SequenceSampler;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code mixtral bench-structured}: what structured output costs. Printed, never asserted:
 * <ul>
 *   <li>compile time of a few typical formats (median of repeated uncached compiles, after a warm-up);</li>
 *   <li>generation tokens/s at each concurrency, free text against the same requests with a response format whose
 *       shortest text is longer than {@code --new-tokens} (so no sequence ends early and the batches stay full); both
 *       sample at temperature 1 with the same seeds; tokens/s is generated tokens over wall time, prompt included
 *       (short prompts), because the engine's step timer leaves out sampling and masking;</li>
 *   <li>the mask's own cost, replaying the constrained outputs: computing a state's mask the first time (trie walk),
 *       and per token afterwards (cached lookup plus masking the logits) against an unmasked draw.</li>
 * </ul>
 */
@Command(name = "bench-structured", mixinStandardHelpOptions = true,
        description = "Measure structured output: schema compile time, tokens/s with and without a schema, mask cost.")
final class StructuredBenchCommand implements Callable<Integer> {

    /** A format that cannot end before 40 items: with up to a few hundred new tokens, no sequence ends early. */
    static final String LONG_FORMAT = "{\"type\":\"json_schema\",\"schema\":{\"type\":\"array\",\"minItems\":40,"
            + "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
            + "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120},\"tags\":{\"type\":\"array\",\"items\":"
            + "{\"enum\":[\"red\",\"green\",\"blue\"]},\"maxItems\":3}},\"required\":[\"name\",\"age\",\"tags\"],"
            + "\"additionalProperties\":false}}}";

    static final Map<String, String> TYPICAL = typical();

    private static Map<String, String> typical() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("classification enum", "{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\",\"properties\":"
                + "{\"label\":{\"enum\":[\"positive\",\"negative\",\"neutral\"]},\"confidence\":{\"type\":\"integer\","
                + "\"minimum\":0,\"maximum\":100}},\"required\":[\"label\",\"confidence\"]}}");
        m.put("person record", "{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\",\"properties\":{\"name\":"
                + "{\"type\":\"string\",\"maxLength\":64},\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},"
                + "\"email\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9._]+@[a-z0-9]+\\\\.[a-z]{2,6}$\"},\"phone\":"
                + "{\"type\":[\"string\",\"null\"],\"pattern\":\"^\\\\+?[0-9 -]{7,15}$\"},\"address\":{\"type\":\"object\","
                + "\"properties\":{\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"},\"zip\":{\"type\":"
                + "\"string\",\"pattern\":\"^[0-9]{5}$\"}},\"required\":[\"city\"]},\"tags\":{\"type\":\"array\","
                + "\"items\":{\"type\":\"string\",\"maxLength\":16},\"maxItems\":8}},\"required\":[\"name\",\"age\"]}}");
        m.put("array of records (bench)", LONG_FORMAT);
        m.put("recursive tree", "{\"type\":\"json_schema\",\"schema\":{\"$defs\":{\"node\":{\"type\":\"object\","
                + "\"properties\":{\"value\":{\"type\":\"integer\"},\"children\":{\"type\":\"array\",\"items\":"
                + "{\"$ref\":\"#/$defs/node\"}}},\"required\":[\"value\"]}},\"$ref\":\"#/$defs/node\"}}");
        m.put("json_object", "{\"type\":\"json_object\"}");
        m.put("regex (date)", "{\"type\":\"regex\",\"pattern\":\"\\\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\\\d|3[01])\"}");
        return m;
    }

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @Option(names = "--response-format", paramLabel = "JSON|@FILE", description = "The format for the tokens/s figures "
            + "(default: an array of at least 40 records, which no sequence completes within --new-tokens).")
    String responseFormat;

    @Option(names = "--new-tokens", description = "Tokens generated per sequence (default ${DEFAULT-VALUE}).")
    int newTokens = 64;

    @Option(names = "--concurrency", split = ",", description = "Parallel sequences (default ${DEFAULT-VALUE}).")
    int[] concurrency = {1, 32};

    @Option(names = "--repeats", description = "Runs per figure; the best is reported (default ${DEFAULT-VALUE}).")
    int repeats = 2;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println("schema compile time (uncached, median of 5 after a warm-up):");
        for (Map.Entry<String, String> e : TYPICAL.entrySet()) {
            JsonNode node = Json.MAPPER.readTree(e.getValue());
            ResponseFormat.compileUncached(node);
            long[] t = new long[5];
            int states = 0;
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                states = ResponseFormat.compileUncached(node).grammar().states();
                t[i] = System.nanoTime() - t0;
            }
            Arrays.sort(t);
            out.printf("  %-26s %8.1f ms  (%,d DFA states)%n", e.getKey(), t[2] / 1e6, states);
        }
        String formatJson = responseFormat == null ? LONG_FORMAT : responseFormat.startsWith("@")
                ? Files.readString(Path.of(responseFormat.substring(1)), StandardCharsets.UTF_8) : responseFormat;
        ResponseFormat format = ResponseFormat.parse(formatJson);
        int maxC = Arrays.stream(concurrency).max().orElse(1);
        try (Engine engine = Engines.open(model, engineOptions.toOptions()
                .withMaxBatchSize(Math.max(maxC, engineOptions.maxBatchSize)))) {
            int[] prompt = engine.tokenizer().encode("Write the records as JSON:");
            for (int c : concurrency) {
                // warm-up, untimed: the JIT compiles the kernels, the sampler and the mask path at each batch size
                run(engine, prompt, c, null, newTokens);
                run(engine, prompt, c, format, newTokens);
            }
            out.printf("generation, %d new tokens per sequence, temperature 1 (tokens/s over wall time):%n", newTokens);
            List<GenerationResult> constrainedOutputs = null;
            for (int c : concurrency) {
                double free = 0;
                double constrained = 0;
                for (int r = 0; r < repeats; r++) {
                    free = Math.max(free, rate(run(engine, prompt, c, null, newTokens)));
                    Run cr = run(engine, prompt, c, format, newTokens);
                    constrained = Math.max(constrained, rate(cr));
                    constrainedOutputs = cr.results;
                }
                out.printf("  c=%-3d free %9.1f   with format %9.1f   (%+.1f %%)%n", c, free, constrained,
                        100 * (constrained / free - 1));
            }
            maskCost(out, engine, format, constrainedOutputs);
        }
        return 0;
    }

    private record Run(List<GenerationResult> results, long nanos) {
    }

    private Run run(Engine engine, int[] prompt, int count, ResponseFormat format, int tokens) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            SamplingParams.Builder p = SamplingParams.builder().temperature(1).seed((long) i).maxNewTokens(tokens);
            reqs.add(new GenerationRequest("b" + i, prompt, (format == null ? p.ignoreEos(true) : p).build(), format));
        }
        long t0 = System.nanoTime();
        List<GenerationResult> results = engine.generate(reqs);
        long nanos = System.nanoTime() - t0;
        for (GenerationResult r : results) {
            if (!r.ok()) {
                throw new IllegalStateException("benchmark request failed: " + r.error());
            }
        }
        return new Run(results, nanos);
    }

    private static double rate(Run r) {
        long tokens = r.results.stream().mapToLong(x -> x.tokenIds().length).sum();
        return tokens * 1e9 / r.nanos;
    }

    /** Replays the constrained outputs: cold masks (first visit of each state), then warm ones, against no mask. */
    private static void maskCost(PrintStream out, Engine engine, ResponseFormat format, List<GenerationResult> outputs) {
        int vocab = engine.model().vocabSize();
        float[] logits = new float[vocab];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) rnd.nextGaussian() * 3;
        }
        ConstrainedDecoding cd = new ConstrainedDecoding(engine.tokenizer(), vocab);
        cd.vocabulary(); // built once per engine; not a per-token cost
        long tokens = 0;
        for (int pass = 0; pass < 3; pass++) {
            long maskNanos = 0;
            long sampleMaskedNanos = 0;
            long sampleFreeNanos = 0;
            tokens = 0;
            for (GenerationResult r : outputs) {
                TokenConstraint c = cd.start(format, new int[0]);
                SequenceSampler masked = new SequenceSampler(SamplingParams.builder().seed(1L).build(), new int[] {1}, vocab);
                SequenceSampler free = new SequenceSampler(SamplingParams.builder().seed(1L).build(), new int[] {1}, vocab);
                for (int id : r.tokenIds()) {
                    long t0 = System.nanoTime();
                    TokenMasks.Mask m = c.allowed();
                    long t1 = System.nanoTime();
                    masked.sample(logits, m.bits());
                    long t2 = System.nanoTime();
                    free.sample(logits);
                    long t3 = System.nanoTime();
                    c.accept(id);
                    maskNanos += t1 - t0;
                    sampleMaskedNanos += t2 - t1;
                    sampleFreeNanos += t3 - t2;
                    tokens++;
                }
            }
            if (pass == 0) {
                out.printf("mask: %d states' masks computed in %.1f ms (%.3f ms each, first visit: a trie walk of the"
                        + " vocabulary)%n", cd.masksComputed(), cd.maskComputeNanos() / 1e6,
                        cd.maskComputeNanos() / 1e6 / Math.max(1, cd.masksComputed()));
            } else if (pass == 2) {
                out.printf("per token, cached (%d tokens): mask lookup %.2f us, masked draw %.1f us, unmasked draw"
                        + " %.1f us: the mask adds %.1f us per token%n", tokens, maskNanos / 1e3 / tokens,
                        sampleMaskedNanos / 1e3 / tokens, sampleFreeNanos / 1e3 / tokens,
                        (maskNanos + sampleMaskedNanos - sampleFreeNanos) / 1e3 / tokens);
            }
        }
    }
}
