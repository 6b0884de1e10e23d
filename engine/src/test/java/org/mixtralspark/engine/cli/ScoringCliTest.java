package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.RawLogprobs;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mixtral score}, {@code generate --prompt-logprobs} and {@code labels}/{@code prompt_logprobs} in batch lines, on
 * the oracle's mini-mistral (real Mistral tokenizer), checked against brute force through the reference forward pass.
 */
class ScoringCliTest {

    private static final String MODEL = Oracle.model("mini-mistral-f32.gguf").toString();
    private static final String[] EXACT = {"--cpu-math", "exact", "--kv-type", "f32", "--threads", "2"};

    private static String[] args(String... a) {
        String[] all = Arrays.copyOf(a, a.length + EXACT.length);
        System.arraycopy(EXACT, 0, all, a.length, EXACT.length);
        return all;
    }

    /** log P(label | prompt) per label token: prompt + label (encoded without BOS) through the reference pass. */
    private static double[] bruteForce(String prompt, String label) {
        int[] p;
        int[] l;
        try (Engine e = Engines.open(Path.of(MODEL), EngineOptions.defaults().withDevice("cpu").withThreads(1))) {
            p = e.tokenizer().encode(prompt);
            l = e.tokenizer().encode(label, false);
        }
        try (LoadedModel m = ModelLoader.load(Path.of(MODEL))) {
            ReferenceForward ref = new ReferenceForward(m.weights());
            ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), p.length + l.length);
            float[] logits = null;
            for (int t : p) {
                logits = ref.forward(seq, t);
            }
            double[] out = new double[l.length];
            for (int j = 0; j < l.length; j++) {
                out[j] = RawLogprobs.of(logits, l[j]);
                logits = ref.forward(seq, l[j]);
            }
            return out;
        }
    }

    @Test
    void scorePrintsEachLabelsLogprobAndTheBestAgreeingWithBruteForce() throws Exception {
        String prompt = "The weather today is";
        List<String> labels = List.of("sunny", "rainy", "very cold and windy");
        CliRun r = CliRun.of(args("score", "--model", MODEL, "--prompt", prompt, "--label", labels.get(0), "--label",
                labels.get(1), "--label", labels.get(2), "--json"));
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(List.of("labels", "best"), names(o));
        double best = Double.NEGATIVE_INFINITY;
        String bestLabel = null;
        for (int i = 0; i < labels.size(); i++) {
            JsonNode l = o.get("labels").get(i);
            assertEquals(List.of("label", "logprob", "token_logprobs"), names(l));
            assertEquals(labels.get(i), l.get("label").asText());
            double[] expected = bruteForce(prompt, labels.get(i));
            assertEquals(expected.length, l.get("token_logprobs").size(), labels.get(i));
            double sum = 0;
            for (int j = 0; j < expected.length; j++) {
                assertEquals(expected[j], l.get("token_logprobs").get(j).asDouble(), 1e-4, labels.get(i) + " " + j);
                sum += expected[j];
            }
            assertEquals(sum, l.get("logprob").asDouble(), 1e-4 * expected.length);
            if (sum > best) {
                best = sum;
                bestLabel = labels.get(i);
            }
        }
        assertEquals(bestLabel, o.get("best").asText());

        CliRun table = CliRun.of(args("score", "--model", MODEL, "--prompt", prompt, "--label", "sunny", "--label", "rainy"));
        assertEquals(0, table.code(), table.err());
        assertEquals(3, table.out().strip().split("\n").length, table.out());
        assertTrue(table.out().lines().filter(s -> s.endsWith("(best)")).count() == 1, table.out());

        // normalised: the best mean per token, which the long label can win only by its mean
        CliRun normalized = CliRun.of(args("score", "--model", MODEL, "--prompt", prompt, "--label", labels.get(0),
                "--label", labels.get(2), "--normalize", "--json"));
        JsonNode n = Json.MAPPER.readTree(normalized.out());
        double mean0 = n.get("labels").get(0).get("logprob").asDouble() / n.get("labels").get(0).get("token_logprobs").size();
        double mean1 = n.get("labels").get(1).get("logprob").asDouble() / n.get("labels").get(1).get("token_logprobs").size();
        assertEquals(mean0 >= mean1 ? labels.get(0) : labels.get(2), n.get("best").asText());
    }

    @Test
    void aBadLabelListFailsNamingTheProblem() {
        CliRun dup = CliRun.of(args("score", "--model", MODEL, "--prompt", "x", "--label", "a", "--label", "a"));
        assertEquals(1, dup.code());
        assertTrue(dup.err().contains("\"a\" is given twice"), dup.err());
        CliRun empty = CliRun.of(args("score", "--model", MODEL, "--prompt", "x", "--label", ""));
        assertEquals(1, empty.code());
        assertTrue(empty.err().contains("label 0 is empty"), empty.err());
        CliRun none = CliRun.of(args("score", "--model", MODEL, "--prompt", "x"));
        assertEquals(2, none.code(), "--label is required");
        CliRun tooLong = CliRun.of(args("score", "--model", MODEL, "--prompt", "x", "--label", "a b c d e f g h",
                "--context-length", "6"));
        assertEquals(1, tooLong.code());
        assertTrue(tooLong.err().contains("does not fit in the context of 6"), tooLong.err());
    }

    @Test
    void generateGivesPromptLogprobsOnRequest() throws Exception {
        String prompt = "Rain fell softly on the old";
        CliRun r = CliRun.of(args("generate", "--model", MODEL, "--prompt", prompt, "--max-new-tokens", "2",
                "--prompt-logprobs", "3", "--json"));
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        JsonNode lp = o.get("prompt_logprobs");
        int n = o.get("prompt_token_ids").size();
        assertEquals(n - 1, lp.size());
        for (int i = 0; i < lp.size(); i++) {
            assertEquals(o.get("prompt_token_ids").get(i + 1).asInt(), lp.get(i).get("token_id").asInt());
            assertEquals(3, lp.get(i).get("top").size());
            assertTrue(lp.get(i).get("logprob").asDouble() <= lp.get(i).get("top").get(0).get("logprob").asDouble());
        }
        CliRun text = CliRun.of(args("generate", "--model", MODEL, "--prompt", prompt, "--max-new-tokens", "2",
                "--prompt-logprobs"));
        assertEquals(0, text.code(), text.err());
        double sum = 0;
        for (JsonNode t : lp) {
            sum += t.get("logprob").asDouble();
        }
        java.util.regex.Matcher ppl = java.util.regex.Pattern.compile("perplexity ([0-9.]+)").matcher(text.err());
        assertTrue(ppl.find(), text.err());
        double expectedPpl = Math.exp(-sum / lp.size());
        assertEquals(expectedPpl, Double.parseDouble(ppl.group(1)), 1e-5 * expectedPpl, text.err());
        CliRun bad = CliRun.of(args("generate", "--model", MODEL, "--prompt", prompt, "--prompt-logprobs", "21"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--prompt-logprobs"), bad.err());
    }

    @Test
    void batchLinesScoreLabelsAndGivePromptLogprobs(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\":\"s\",\"prompt\":\"The weather today is\",\"labels\":[\"sunny\",\"rainy\"]}",
                "{\"id\":\"g\",\"prompt\":\"Hello\",\"max_new_tokens\":2,\"prompt_logprobs\":1}",
                "{\"id\":\"bad\",\"prompt\":\"Hello\",\"labels\":[]}",
                "{\"id\":\"n\",\"prompt\":\"Hello\",\"labels\":[\"a\"],\"normalize\":true}",
                "{\"id\":\"nolabels\",\"prompt\":\"Hello\",\"normalize\":true}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of(args("generate", "--model", MODEL, "--input", in.toString(), "--output", out.toString()));
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(5, lines.size());
        JsonNode s = Json.MAPPER.readTree(lines.get(0));
        CliRun single = CliRun.of(args("score", "--model", MODEL, "--prompt", "The weather today is", "--label", "sunny",
                "--label", "rainy", "--json"));
        JsonNode expected = Json.MAPPER.readTree(single.out());
        assertEquals(expected.get("best").asText(), s.get("label").asText(), lines.get(0));
        assertEquals(expected.get("labels"), s.get("labels"), "the batch line scores as the score command does");
        assertEquals(s.get("label").asText(), s.get("text").asText());
        JsonNode g = Json.MAPPER.readTree(lines.get(1));
        assertTrue(g.get("label").isNull() && g.get("labels").isNull(), lines.get(1));
        assertEquals(g.get("prompt_token_ids").size() - 1, g.get("prompt_logprobs").size());
        JsonNode bad = Json.MAPPER.readTree(lines.get(2));
        assertEquals("error", bad.get("finish_reason").asText());
        assertTrue(bad.get("error").asText().contains("the list is empty"), lines.get(2));
        assertEquals("a", Json.MAPPER.readTree(lines.get(3)).get("label").asText());
        JsonNode noLabels = Json.MAPPER.readTree(lines.get(4));
        assertTrue(noLabels.get("error").asText().contains("normalize applies to labels only"), lines.get(4));
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new java.util.ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
