package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.Seeds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --n} and {@code n} in batch lines, on the oracle's mini-mistral. */
class NSamplesCliTest {

    private static String model() {
        return Oracle.model("mini-mistral-q8_0.gguf").toString();
    }

    private static JsonNode generate(long seed, int n) throws Exception {
        CliRun r = CliRun.of("generate", "--model", model(), "--prompt", "Once upon a time", "--temperature", "1",
                "--seed", Long.toString(seed), "--max-new-tokens", "8", "--ignore-eos", "--n", Integer.toString(n),
                "--json");
        assertEquals(0, r.code(), r.err());
        return Json.MAPPER.readTree(r.out());
    }

    @Test
    void nSamplesAreEachTheSingleRunWithTheDerivedSeedAndSampleZeroIsTheUsualFields() throws Exception {
        JsonNode three = generate(9, 3);
        JsonNode samples = three.get("samples");
        assertEquals(3, samples.size(), three.toString());
        assertEquals(three.get("text").asText(), samples.get(0).get("text").asText(), "sample 0 is the usual fields");
        JsonNode one = generate(9, 1);
        assertFalse(one.has("samples"), "n = 1 adds nothing to the output");
        assertEquals(one.get("text").asText(), three.get("text").asText(), "--n does not change sample 0");
        for (int i = 0; i < 3; i++) {
            JsonNode alone = generate(Seeds.sampleSeed(9, i), 1);
            JsonNode s = samples.get(i);
            assertEquals(alone.get("text").asText(), s.get("text").asText(), "sample " + i);
            assertEquals("length", s.get("finish_reason").asText());
            assertEquals(8, s.get("completion_tokens").asInt());
        }

        CliRun text = CliRun.of("generate", "--model", model(), "--prompt", "Once upon a time", "--temperature", "1",
                "--seed", "9", "--max-new-tokens", "8", "--ignore-eos", "--n", "2");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("=== sample 0 (length) ===\n" + samples.get(0).get("text").asText() + "\n"
                + "=== sample 1 (length) ===\n" + samples.get(1).get("text").asText()), text.out());
    }

    @Test
    void anNOutOfRangeExitsTwoNamingIt() {
        CliRun r = CliRun.of("generate", "--model", model(), "--prompt", "x", "--n", "65");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("n = 65") && r.err().contains("[1, 64]"), r.err());
    }

    @Test
    void batchLinesTakeTheirOwnNAndABadOneIsThatLinesError(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\":\"a\",\"prompt\":\"Hello\",\"n\":4}",
                "{\"id\":\"b\",\"prompt\":\"Hello\"}",
                "{\"id\":\"c\",\"prompt\":\"Hello\",\"n\":0}",
                "{\"id\":\"d\",\"prompt\":\"Hello\",\"n\":1}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("generate", "--model", model(), "--input", in.toString(), "--output", out.toString(),
                "--temperature", "1", "--seed", "5", "--max-new-tokens", "6", "--ignore-eos", "--n", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(4, lines.size());
        JsonNode a = Json.MAPPER.readTree(lines.get(0));
        assertEquals(4, a.get("samples").size(), lines.get(0));
        JsonNode b = Json.MAPPER.readTree(lines.get(1));
        assertEquals(2, b.get("samples").size(), "the --n default: " + lines.get(1));
        // same prompt and seed: the first two samples of a and b are the same draws
        assertEquals(a.get("samples").get(1).get("text"), b.get("samples").get(1).get("text"));
        JsonNode c = Json.MAPPER.readTree(lines.get(2));
        assertEquals("error", c.get("finish_reason").asText(), lines.get(2));
        assertTrue(c.get("error").asText().contains("n = 0"), lines.get(2));
        JsonNode d = Json.MAPPER.readTree(lines.get(3));
        assertFalse(d.has("samples"), lines.get(3));
        assertEquals(b.get("text"), d.get("text"), "n only adds samples after sample 0");
    }
}
