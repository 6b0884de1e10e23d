package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.Prompts;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** {@code mixtral generate}: one prompt from the flags, or a JSONL file of requests (batch mode). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a completion of one prompt, or of every request in a JSONL file.")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptSource source;

    static final class PromptSource {
        @Option(names = "--prompt", description = "Prompt text (BOS added as the tokenizer says).")
        String prompt;

        @Option(names = "--prompt-ids", split = ",", description = "Prompt token ids, comma-separated, used as is.")
        int[] promptIds;

        @Option(names = "--messages", description = "Chat messages as JSON: [{\"role\":\"user\",\"content\":\"...\"}]")
        String messages;

        @Option(names = "--input", description = "JSONL requests: {id, prompt | prompt_ids | messages, sampling fields}.")
        Path input;
    }

    @Option(names = "--output", description = "Batch mode: where to write the JSONL results (default: stdout).")
    Path output;

    @Option(names = "--json", description = "Print one JSON object instead of the text.")
    boolean json;

    @Option(names = "--response-format", paramLabel = "JSON|@FILE", description = "Structured output: the output "
            + "must have this shape. {\"type\":\"json_schema\",\"schema\":{...}}, {\"type\":\"json_object\"}, "
            + "{\"type\":\"regex\",\"pattern\":\"...\"} or {\"type\":\"choice\",\"choices\":[...]}; "
            + "@file.json reads it from a file. In batch mode, the default for lines without response_format.")
    String responseFormat;

    @Option(names = "--prompt-logprobs", arity = "0..1", fallbackValue = "0", paramLabel = "K",
            description = "Also the log-probability of every prompt token after the first (in --json output, "
                    + "\"prompt_logprobs\"; otherwise the prompt's perplexity on stderr), with the K most likely "
                    + "tokens at each position (0 to 20; none when K is left out). The prompt is then computed whole, "
                    + "not taken from the prefix cache.")
    Integer promptLogprobs;

    @Option(names = "--n", paramLabel = "N", description = "Independent samples of each prompt, 1 to "
            + SamplingParams.MAX_N + " (default ${DEFAULT-VALUE}); the prompt is computed once. Sample i is seeded "
            + "from --seed and i; sample 0 is what --n 1 gives. In batch mode, the default for lines without n.")
    int n = 1;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--routing-stats", paramLabel = "PATH",
            description = "Write the expert routing statistics (layer x expert token counts) to this JSON file.")
    Path routingStats;

    @Option(names = "--routing-tokens", description = "With --routing-stats: also each computed token's chosen "
            + "experts per layer (k ids and weights per token per layer: for a few prompts, not a big batch).")
    boolean routingTokens;

    @Mixin
    SamplingOptions sampling;

    @Mixin
    EngineOptionsMixin engineOptions;

    @Override
    public Integer call() throws Exception {
        SamplingParams defaults;
        try {
            defaults = sampling.builder().n(n).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        ResponseFormat format = responseFormat();
        if (promptLogprobs != null && (promptLogprobs < 0 || promptLogprobs > SamplingParams.MAX_LOGPROBS)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--prompt-logprobs: " + promptLogprobs
                    + " must be in [0, " + SamplingParams.MAX_LOGPROBS + "]");
        }
        if (routingTokens && routingStats == null) {
            System.err.println("mixtral generate: --routing-tokens needs --routing-stats PATH");
            return 2;
        }
        try (Engine engine = Engines.open(model, engineOptions.toOptions())) {
            if (routingTokens) {
                engine.recordTokenRoutes(true);
            }
            int rc = source.input != null ? batch(engine, defaults, format) : single(engine, defaults, format);
            if (routingStats != null) {
                RoutingStatsFile.write(engine, routingStats);
            }
            return rc;
        }
    }

    private int single(Engine engine, SamplingParams defaults, ResponseFormat format) throws IOException {
        int[] ids;
        if (source.promptIds != null) {
            ids = source.promptIds;
        } else if (source.messages != null) {
            ids = Prompts.fromMessages(engine, parseMessages(Json.MAPPER.readTree(source.messages)));
        } else {
            ids = Prompts.fromText(engine, source.prompt);
        }
        GenerationRequest request = new GenerationRequest("0", ids, defaults, format);
        if (promptLogprobs != null) {
            request = request.withPromptLogprobs(promptLogprobs);
        }
        List<GenerationResult> samples = engine.submitN(request).join();
        GenerationResult r = samples.get(0);
        if (!r.ok()) {
            System.err.println("mixtral: error: " + ErrorLine.of(new IllegalStateException(r.error())));
            return 1;
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (json) {
            out.println(Json.write(ResultJson.of(samples)));
        } else if (samples.size() == 1) {
            out.println(r.text());
        } else {
            for (int i = 0; i < samples.size(); i++) {
                GenerationResult s = samples.get(i);
                out.println("=== sample " + i + " (" + s.finishReason().wireName() + ") ===");
                out.println(s.ok() ? s.text() : "error: " + s.error());
            }
        }
        if (!json && promptLogprobs != null && !r.promptLogprobs().isEmpty()) {
            double sum = r.promptLogprobs().stream().mapToDouble(t -> t.logprob()).sum();
            int scored = r.promptLogprobs().size();
            System.err.printf("prompt: %d tokens scored, log-probability %.6f, perplexity %.6f%n", scored, sum,
                    Math.exp(-sum / scored));
        }
        return 0;
    }

    /** Streams the input: at most a window of requests in flight, results written in input order. */
    private int batch(Engine engine, SamplingParams defaults, ResponseFormat format) throws IOException {
        int window = 1024;
        int errors = 0;
        try (BufferedReader in = Files.newBufferedReader(source.input, StandardCharsets.UTF_8);
             BufferedWriter out = output == null
                     ? new BufferedWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                     : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            Deque<Map.Entry<String, CompletableFuture<List<GenerationResult>>>> pending = new ArrayDeque<>();
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String id = String.valueOf(lineNo);
                CompletableFuture<List<GenerationResult>> f;
                try {
                    JsonNode node = Json.MAPPER.readTree(line);
                    if (node == null || !node.isObject()) {
                        throw new IllegalArgumentException("line " + lineNo + " is not a JSON object");
                    }
                    if (node.hasNonNull("id")) {
                        id = node.get("id").asText();
                    }
                    GenerationRequest request = BatchRequests.parse(engine, node, id, defaults, format);
                    if (promptLogprobs != null && !node.has("prompt_logprobs")) {
                        request = request.withPromptLogprobs(promptLogprobs);
                    }
                    f = engine.submitN(request);
                } catch (IOException | RuntimeException e) {
                    f = CompletableFuture.completedFuture(List.of(GenerationResult.failed(id, new int[0],
                            "line " + lineNo + ": " + e.getMessage())));
                }
                pending.addLast(Map.entry(id, f));
                while (pending.size() >= window) {
                    errors += writeResult(out, pending.pollFirst());
                }
            }
            while (!pending.isEmpty()) {
                errors += writeResult(out, pending.pollFirst());
            }
        }
        if (errors > 0) {
            System.err.println("mixtral generate: " + errors + " requests failed (see their error field)");
        }
        return 0;
    }

    private static int writeResult(BufferedWriter out,
                                   Map.Entry<String, CompletableFuture<List<GenerationResult>>> e) throws IOException {
        List<GenerationResult> samples = e.getValue().join();
        GenerationResult r = samples.get(0);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", e.getKey());
        o.putAll(ResultJson.of(samples));
        o.put("error", r.error());
        out.write(Json.write(o));
        out.newLine();
        out.flush();
        return r.ok() ? 0 : 1;
    }

    /** The --response-format flag (inline JSON or @file), checked before the model is loaded: a bad one exits 2. */
    private ResponseFormat responseFormat() {
        if (responseFormat == null) {
            return null;
        }
        String text = responseFormat;
        try {
            if (text.startsWith("@")) {
                text = Files.readString(Path.of(text.substring(1)), StandardCharsets.UTF_8);
            }
            return ResponseFormat.parse(text);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--response-format: cannot read "
                    + responseFormat.substring(1) + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--response-format: " + e.getMessage());
        }
    }

    static List<Map<String, String>> parseMessages(JsonNode node) {
        if (node == null || !node.isArray()) {
            throw new IllegalArgumentException("messages must be a JSON array of {role, content} objects");
        }
        return Json.MAPPER.convertValue(node, new TypeReference<List<Map<String, String>>>() { });
    }
}
