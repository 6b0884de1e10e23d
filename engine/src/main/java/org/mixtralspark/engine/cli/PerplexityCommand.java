package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.Prompts;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mixtral eval perplexity}: for each context length L, every text of at least L tokens is cut to its first L
 * tokens (BOS included) and run once with prompt log-probabilities; the perplexity at L is
 * {@code exp(-mean log P(token | the tokens before it))} over tokens 2..L of those windows. Shorter texts are left out
 * of that length (and counted). With random weights the figures are meaningless; on a real checkpoint they show how
 * well it uses long contexts.
 */
@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity by context length, from the prompt log-probabilities of each text's first L tokens.")
final class PerplexityCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @Option(names = "--input", required = true, description = "JSONL lines {\"text\": ...}.")
    Path input;

    @Option(names = "--lengths", required = true, split = ",", paramLabel = "L1,L2,...",
            description = "Context lengths in tokens (BOS included), e.g. 512,2048,8192,32768.")
    int[] lengths;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    EngineOptionsMixin engineOptions;

    /** The figures at one length. */
    record AtLength(int length, int texts, long tokens, double meanNll, double perplexity) {
    }

    @Override
    public Integer call() throws Exception {
        for (int l : lengths) {
            if (l < 2) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--lengths: " + l
                        + " is too short: a window needs at least 2 tokens");
            }
        }
        List<String> texts = readTexts(input);
        try (Engine engine = Engines.open(model, engineOptions.toOptions())) {
            int context = engine.model().contextLength();
            for (int l : lengths) {
                if (l >= context) {
                    throw new IllegalArgumentException("--lengths: " + l + " leaves no room in the model's context of "
                            + context + " tokens (give lengths below it, or raise --context-length)");
                }
            }
            List<int[]> ids = new ArrayList<>();
            for (String t : texts) {
                ids.add(Prompts.fromText(engine, t));
            }
            List<AtLength> rows = measure(engine, ids, lengths);
            print(rows, texts.size());
        }
        return 0;
    }

    /** Perplexity at each length over the texts (token ids) that have at least that many tokens. */
    static List<AtLength> measure(Engine engine, List<int[]> texts, int[] lengths) {
        List<AtLength> out = new ArrayList<>();
        SamplingParams oneToken = SamplingParams.builder().greedy().maxNewTokens(1).build();
        for (int l : lengths) {
            List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i).length >= l) {
                    fs.add(engine.submit(new GenerationRequest("ppl-" + l + "-" + i,
                            Arrays.copyOf(texts.get(i), l), oneToken).withPromptLogprobs(0)));
                }
            }
            double nll = 0;
            long tokens = 0;
            for (CompletableFuture<GenerationResult> f : fs) {
                GenerationResult r = f.join();
                if (!r.ok()) {
                    throw new IllegalStateException("length " + l + ": " + r.error());
                }
                for (TokenLogprob t : r.promptLogprobs()) {
                    nll -= t.logprob();
                    tokens++;
                }
            }
            double mean = tokens == 0 ? Double.NaN : nll / tokens;
            out.add(new AtLength(l, fs.size(), tokens, mean, Math.exp(mean)));
        }
        return out;
    }

    private void print(List<AtLength> rows, int textCount) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("texts", textCount);
            List<Map<String, Object>> ls = new ArrayList<>();
            for (AtLength r : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("length", r.length());
                m.put("texts", r.texts());
                m.put("tokens", r.tokens());
                m.put("mean_nll", Double.isNaN(r.meanNll()) ? null : r.meanNll());
                m.put("perplexity", Double.isNaN(r.perplexity()) ? null : r.perplexity());
                ls.add(m);
            }
            o.put("lengths", ls);
            out.println(Json.write(o));
            return;
        }
        out.printf("%-8s %-6s %-10s %-12s %s%n", "length", "texts", "tokens", "mean_nll", "perplexity");
        for (AtLength r : rows) {
            out.printf("%-8d %-6d %-10d %-12.6f %.6f%n", r.length(), r.texts(), r.tokens(), r.meanNll(),
                    r.perplexity());
        }
    }

    private static List<String> readTexts(Path input) throws java.io.IOException {
        List<String> texts = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = Json.MAPPER.readTree(line);
            if (n == null || !n.isObject() || !n.hasNonNull("text") || !n.get("text").isTextual()) {
                throw new IllegalArgumentException(input + " line " + lineNo + ": expected {\"text\": \"...\"}");
            }
            texts.add(n.get("text").textValue());
        }
        return texts;
    }
}
