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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code mixtral eval perplexity} against exp of the mean negative log-probability of the reference forward pass, and
 * the mechanics of {@code mixtral eval passkey} (lengths, needle positions, counts) on mini-mistral's random weights.
 */
class EvalCliTest {

    private static final String MODEL = Oracle.model("mini-mistral-f32.gguf").toString();

    private static final List<String> TEXTS = List.of(
            "Rain fell softly on the old roof of the house by the river, and the children slept.",
            "A short one.",
            "The committee met on Tuesday to discuss the budget for the coming year; nobody agreed on anything, "
                    + "so they met again on Wednesday, and again on Thursday.");

    @Test
    void perplexityIsExpOfTheMeanNegativeLogprobOfTheReferencePass(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("texts.jsonl");
        List<String> lines = TEXTS.stream().map(t -> Json.write(java.util.Map.of("text", t))).toList();
        Files.write(in, lines);
        int[] lengths = {6, 20};
        CliRun r = CliRun.of("eval", "perplexity", "--model", MODEL, "--input", in.toString(), "--lengths", "6,20", "--json",
                "--cpu-math", "exact", "--kv-type", "f32", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(3, o.get("texts").asInt());
        int[][] ids = new int[TEXTS.size()][];
        try (Engine e = Engines.open(Path.of(MODEL), EngineOptions.defaults().withThreads(1))) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = e.tokenizer().encode(TEXTS.get(i));
            }
        }
        try (LoadedModel m = ModelLoader.load(Path.of(MODEL))) {
            for (int k = 0; k < lengths.length; k++) {
                int l = lengths[k];
                double nll = 0;
                int tokens = 0;
                int used = 0;
                for (int[] t : ids) {
                    if (t.length < l) {
                        continue;
                    }
                    used++;
                    ReferenceForward ref = new ReferenceForward(m.weights());
                    ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), l);
                    for (int p = 0; p + 1 < l; p++) {
                        nll -= RawLogprobs.of(ref.forward(seq, t[p]), t[p + 1]);
                        tokens++;
                    }
                }
                JsonNode at = o.get("lengths").get(k);
                assertEquals(l, at.get("length").asInt());
                assertEquals(used, at.get("texts").asInt(), "texts of at least " + l + " tokens");
                assertEquals(tokens, at.get("tokens").asInt());
                double expected = Math.exp(nll / tokens);
                assertEquals(expected, at.get("perplexity").asDouble(), 1e-4 * expected, "perplexity at " + l);
            }
        }
        assertEquals(2, o.get("lengths").get(1).get("texts").asInt(), "the short text is left out at 20");
        CliRun tooLong = CliRun.of("eval", "perplexity", "--model", MODEL, "--input", in.toString(), "--lengths", "4096");
        assertEquals(1, tooLong.code());
        assertTrue(tooLong.err().contains("context of 4096"), tooLong.err());
    }

    @Test
    void passkeyPromptsHaveTheLengthAndTheNeedleWhereAsked() throws Exception {
        try (Engine e = Engines.open(Path.of(MODEL), EngineOptions.defaults().withThreads(1))) {
            int[] needle = e.tokenizer().encode(PasskeyPrompt.needle("12345"), false);
            for (int length : new int[] {120, 300}) {
                int prev = -1;
                for (double depth : new double[] {0, 0.5, 1}) {
                    PasskeyPrompt p = PasskeyPrompt.build(e.tokenizer(), length, depth, "12345");
                    assertEquals(length, p.ids().length);
                    assertEquals(1, p.ids()[0], "BOS first");
                    assertTrue(Arrays.equals(needle, Arrays.copyOfRange(p.ids(), p.keyStart(),
                            p.keyStart() + needle.length)), "the needle at its start");
                    assertTrue(p.keyStart() > prev, "deeper is later");
                    prev = p.keyStart();
                    assertTrue(e.tokenizer().decode(p.ids()).endsWith("What is the pass key? The pass key is"));
                }
            }
            assertThrows(IllegalArgumentException.class, () -> PasskeyPrompt.build(e.tokenizer(), 30, 0.5, "1"));
        }
        CliRun r = CliRun.of("eval", "passkey", "--model", MODEL, "--lengths", "120,240", "--depths", "0,0.5,1", "--trials",
                "2", "--json", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(6, o.get("results").size());
        int correct = 0;
        for (JsonNode c : o.get("results")) {
            assertEquals(2, c.get("trials").asInt());
            assertTrue(c.get("correct").asInt() >= 0 && c.get("correct").asInt() <= 2);
            assertEquals(c.get("correct").asDouble() / 2, c.get("accuracy").asDouble(), 1e-12);
            correct += c.get("correct").asInt();
        }
        assertEquals(correct / 12.0, o.get("accuracy").asDouble(), 1e-12);
        CliRun bad = CliRun.of("eval", "passkey", "--model", MODEL, "--lengths", "120", "--depths", "1.5");
        assertEquals(2, bad.code());
    }
}
