package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.LabelScores;
import org.mixtralspark.engine.serving.Prompts;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code mixtral score}: classification by likelihood. Each label's log-probability of continuing the prompt (the
 * prompt computed once, each label a fork of it), and the best label. A label is tokenized without BOS, as a
 * continuation of the prompt ({@link Prompts#labels}).
 */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score labels as continuations of a prompt: each label's log-probability, and the best one.")
final class ScoreCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptSource source;

    static final class PromptSource {
        @Option(names = "--prompt", description = "Prompt text (BOS added as the tokenizer says).")
        String prompt;

        @Option(names = "--messages", description = "Chat messages as JSON: [{\"role\":\"user\",\"content\":\"...\"}]"
                + "; the labels continue the assistant's turn.")
        String messages;
    }

    @Option(names = "--label", required = true, paramLabel = "L",
            description = "A label to score (repeat the flag for each; at least one). Tokenized without BOS, as a "
                    + "continuation of the prompt: with SentencePiece vocabularies it starts a new word.")
    List<String> labels;

    @Option(names = "--normalize", description = "Choose the best label by mean log-probability per token instead "
            + "of the sum (does not favour short labels).")
    boolean normalize;

    @Option(names = "--json", description = "Print {\"labels\":[{\"label\",\"logprob\",\"token_logprobs\"}],"
            + "\"best\"} instead of a table.")
    boolean json;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Override
    public Integer call() throws Exception {
        try (Engine engine = Engines.open(model, engineOptions.toOptions())) {
            int[] ids = source.messages != null
                    ? Prompts.fromMessages(engine, GenerateCommand.parseMessages(parse(source.messages)))
                    : Prompts.fromText(engine, source.prompt);
            GenerationRequest request = new GenerationRequest("0", ids, SamplingParams.defaults())
                    .withLabels(Prompts.labels(engine, labels, normalize));
            GenerationResult r = engine.submit(request).join();
            if (!r.ok()) {
                System.err.println("mixtral score: error: " + r.error());
                return 1;
            }
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            LabelScores scores = r.labelScores();
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("labels", ResultJson.labels(scores));
                o.put("best", scores.best());
                out.println(Json.write(o));
            } else {
                out.printf("%-14s %-14s %-7s %s%n", "logprob", "mean", "tokens", "label");
                for (LabelScores.Label l : scores.labels()) {
                    out.printf("%-14.6f %-14.6f %-7d %s%s%n", l.logprob(), l.meanLogprob(),
                            l.tokenLogprobs().length, l.label(), l.label().equals(scores.best()) ? "   (best)" : "");
                }
            }
            return 0;
        }
    }

    private static JsonNode parse(String messages) {
        try {
            return Json.MAPPER.readTree(messages);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--messages is not JSON: " + e.getMessage());
        }
    }
}
