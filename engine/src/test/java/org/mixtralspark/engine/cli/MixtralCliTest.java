package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.oracle.Oracle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI contract: flags, JSON shapes and exit codes, on the oracle models and generated ones. */
class MixtralCliTest {

    @ParameterizedTest(name = "{0} vs {1}/{2}")
    @CsvSource({"mini-mistral-hf, hf, mini-mistral-hf", "mini-mistral-q8_0.gguf, exact-f64, mini-mistral-q8_0"})
    void generateJsonReproducesTheOracleGreedyContinuationOfTheChatPrompt(String model, String kind, String stem)
            throws Exception {
        Oracle.Prompt chat = Oracle.reference(kind, stem).prompt("chat_20");
        CliRun r = CliRun.of("generate", "--model", Oracle.model(model).toString(), "--messages",
                "[{\"role\":\"user\",\"content\":\"Which planet in our solar system has the most moons?\"}]",
                "--temperature", "0", "--max-new-tokens", "24", "--ignore-eos", "--logprobs", "2", "--json",
                "--threads", "2", "--cpu-math", "exact", "--kv-type", "f32");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(Json.MAPPER.valueToTree(chat.promptIds()), o.get("prompt_token_ids"));
        assertEquals(Json.MAPPER.valueToTree(chat.greedyIds()), o.get("token_ids"));
        assertEquals("length", o.get("finish_reason").asText());
        assertEquals(24, o.get("logprobs").size());
        assertEquals(2, o.get("logprobs").get(0).get("top").size());
        assertTrue(o.get("timings").has("prefill_tokens_per_s") && o.get("timings").has("decode_tokens_per_s"));
        assertTrue(o.get("text").isTextual());
    }

    @Test
    void batchModeWritesOneLinePerRequestInOrderWithErrorsInline(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\": \"a\", \"prompt\": \"hello there\", \"max_new_tokens\": 3, \"temperature\": 0}",
                "{\"id\": \"b\", \"prompt_ids\": [1, 300, 301], \"max_new_tokens\": 2, \"seed\": 5}",
                "{\"id\": \"c\", \"prompt\": \"x\", \"temperature\": -1}",
                "not json",
                "{\"id\": \"e\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_new_tokens\": 1}",
                "{\"id\": \"f\", \"prompt\": \"x\", \"temprature\": 1}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("generate", "--model", model.toString(), "--input", in.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(6, lines.size());
        String[] ids = {"a", "b", "c", "4", "e", "f"};
        boolean[] ok = {true, true, false, false, true, false};
        for (int i = 0; i < 6; i++) {
            JsonNode o = Json.MAPPER.readTree(lines.get(i));
            assertEquals(ids[i], o.get("id").asText(), lines.get(i));
            assertEquals(ok[i], o.get("error").isNull(), lines.get(i));
            assertEquals(ok[i] ? "length" : "error", o.get("finish_reason").asText(), lines.get(i));
        }
        assertEquals(3, Json.MAPPER.readTree(lines.get(0)).get("token_ids").size());
        assertTrue(Json.MAPPER.readTree(lines.get(2)).get("error").asText().contains("temperature"));
        assertTrue(Json.MAPPER.readTree(lines.get(5)).get("error").asText().contains("temprature"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "--max-new-tokens | 1e12        | --max-new-tokens = 1e12: out of range: must be a whole number in [1, 2147483647]",
        "--max-new-tokens | 2.5         | --max-new-tokens = 2.5: must be a whole number",
        "--top-k          | 5000000000  | --top-k = 5000000000: out of range: must be a whole number in [0, 2147483647]",
        "--seed           | 1e19        | --seed = 1e19: out of range: must be a whole number in [-9223372036854775808, 9223372036854775807]",
        "--logprobs       | ten         | --logprobs = \"ten\": not a number",
        "--threads        | 1e10        | --threads = 1e10: out of range: must be a whole number in [0, 2147483647]",
        "--temperature    | 1e39        | --temperature = 1e39: out of range: must be a number in [-3.4028235E38, 3.4028235E38]",
        "--top-p          | NaN         | --top-p = NaN: not a finite number",
    })
    void numericFlagsSayWhatIsWrongWithTheValue(String flag, String value, String expected) {
        CliRun r = CliRun.of("generate", "--model", "unused.gguf", "--prompt", "hi", flag, value);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith(expected + System.lineSeparator()), r.err());
    }

    @Test
    void numericFieldsOfBatchLinesSayWhatIsWrong(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\": \"a\", \"prompt\": \"x\", \"max_new_tokens\": 1e12}",
                "{\"id\": \"b\", \"prompt\": \"x\", \"max_new_tokens\": 10000000000}",
                "{\"id\": \"c\", \"prompt\": \"x\", \"top_k\": 2.5}",
                "{\"id\": \"d\", \"prompt\": \"x\", \"seed\": \"abc\"}",
                "{\"id\": \"e\", \"prompt\": \"x\", \"temperature\": 1e39}",
                "{\"id\": \"f\", \"prompt\": \"x\", \"seed\": 1e30}",
                "{\"id\": \"g\", \"prompt\": \"x\", \"max_new_tokens\": 2.0, \"seed\": 12}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("generate", "--model", model.toString(), "--input", in.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        String[] expected = {
            "max_new_tokens = 1.0E12: out of range: must be a whole number in [1, 2147483647]",
            "max_new_tokens = 10000000000: out of range: must be a whole number in [1, 2147483647]",
            "top_k = 2.5: must be a whole number",
            "seed = \"abc\": not a number",
            "temperature = 1.0E39: out of range: must be a number in [-3.4028235E38, 3.4028235E38]",
            "seed = 1.0E30: out of range: must be a whole number in [-9223372036854775808, 9223372036854775807]",
        };
        for (int i = 0; i < expected.length; i++) {
            String error = Json.MAPPER.readTree(lines.get(i)).get("error").asText();
            assertTrue(error.contains(expected[i]), error);
        }
        JsonNode whole = Json.MAPPER.readTree(lines.get(6));
        assertTrue(whole.get("error").isNull(), lines.get(6));
        assertEquals(2, whole.get("token_ids").size(), "2.0 is the whole number 2");
    }

    @Test
    void theContextLengthRuleInBatchMode(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\": \"fits-one\", \"prompt_ids\": " + ids(15) + ", \"max_new_tokens\": 8, \"ignore_eos\": true}",
                "{\"id\": \"full\", \"prompt_ids\": " + ids(16) + ", \"max_new_tokens\": 1}",
                "{\"id\": \"cut\", \"prompt_ids\": " + ids(10) + ", \"max_new_tokens\": 20, \"ignore_eos\": true}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("generate", "--model", model.toString(), "--input", in.toString(), "--output", out.toString(),
                "--context-length", "16", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        JsonNode fitsOne = Json.MAPPER.readTree(lines.get(0));
        assertEquals("length", fitsOne.get("finish_reason").asText(), lines.get(0));
        assertEquals(1, fitsOne.get("token_ids").size());
        JsonNode full = Json.MAPPER.readTree(lines.get(1));
        assertEquals("error", full.get("finish_reason").asText(), lines.get(1));
        assertTrue(full.get("error").asText().contains("16 tokens, but the context length is 16"), lines.get(1));
        JsonNode cut = Json.MAPPER.readTree(lines.get(2));
        assertEquals("length", cut.get("finish_reason").asText(), lines.get(2));
        assertEquals(6, cut.get("token_ids").size());
    }

    private static String ids(int n) {
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> String.valueOf(1 + i)).toList().toString();
    }

    @Test
    void generateRoutingStatsWritesCountsAndEachTokensExperts(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        Path stats = tmp.resolve("routing.json");
        CliRun r = CliRun.of("generate", "--model", model.toString(), "--prompt-ids", "1,40,7,99", "--max-new-tokens", "3",
                "--ignore-eos", "--temperature", "0", "--routing-stats", stats.toString(), "--routing-tokens");
        assertEquals(0, r.code(), r.err());
        JsonNode json = Json.MAPPER.readTree(stats.toFile());
        int layers = json.get("layers").asInt();
        int k = json.get("experts_per_token").asInt();
        assertEquals(layers * json.get("experts").asInt(), json.get("counts").size());
        long sum = 0;
        for (JsonNode row : json.get("counts")) {
            sum += row.get("tokens").asLong();
        }
        int computed = 4 + 3 - 1; // the prompt, and each generated token but the last fed back
        assertEquals((long) computed * k * layers, sum);
        assertEquals(computed * layers, json.get("token_routes").size());
        JsonNode first = json.get("token_routes").get(0);
        assertEquals(1, first.get("token_id").asInt());
        assertEquals(k, first.get("experts").size());

        CliRun alone = CliRun.of("generate", "--model", model.toString(), "--prompt", "hi", "--routing-tokens");
        assertEquals(2, alone.code());
        assertTrue(alone.err().contains("--routing-stats"), alone.err());
    }

    @Test
    void tokenizeMatchesTheOraclePromptIdsAndInputModeKeepsOrder(@TempDir Path tmp) throws Exception {
        Oracle.Prompt p = Oracle.reference("hf", "mini-mistral-hf").prompt("short_7");
        // mini-mistral-hf for its tokenizer files only; every mini-mistral GGUF carries the same vocabulary
        for (Path model : new Path[] {Oracle.tokenizerFolder("mini-mistral-hf"), Oracle.model("mini-mistral-q8_0.gguf")}) {
            CliRun r = CliRun.of("tokenize", "--model", model.toString(), "--text", "Rain fell softly on the old", "--json");
            assertEquals(0, r.code(), r.err());
            assertEquals(Json.MAPPER.valueToTree(p.promptIds()), Json.MAPPER.readTree(r.out()).get("ids"), model.toString());
        }
        Path in = tmp.resolve("t.jsonl");
        Files.write(in, List.of("{\"text\": \"Rain fell softly on the old\"}", "{\"text\": \"\"}"));
        CliRun r = CliRun.of("tokenize", "--model", Oracle.file("models/mini-mistral-hf/tokenizer.json").toString(),
                "--input", in.toString(), "--no-bos");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length);
        assertEquals(6, Json.MAPPER.readTree(lines[0]).get("ids").size());
        assertEquals(0, Json.MAPPER.readTree(lines[1]).get("ids").size());
    }

    @Test
    void inspectJsonListsTensorsWithTypesAndShapes() throws Exception {
        CliRun r = CliRun.of("inspect", "--model", Oracle.model("kquant-q4_k_m.gguf").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(256, o.get("config").get("dim").asInt());
        assertEquals(33, o.get("tensor_count").asInt());
        boolean found = false;
        for (JsonNode t : o.get("tensors")) {
            if (t.get("name").asText().equals("blk.0.ffn_gate_exps.weight")) {
                assertEquals("Q4_K", t.get("type").asText());
                assertEquals("[8,256,256]", t.get("shape").toString());
                found = true;
            }
        }
        assertTrue(found);
    }

    @Test
    void benchJsonHasTheFiguresOfTheContract(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        CliRun r = CliRun.of("bench", "--model", model.toString(), "--prompt-tokens", "16", "--new-tokens", "4",
                "--concurrency", "1,3", "--repeats", "1", "--threads", "2", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertTrue(o.get("prefill_tokens_per_s").asDouble() > 0);
        assertEquals(2, o.get("decode").size());
        assertEquals(3, o.get("decode").get(1).get("concurrency").asInt());
        assertTrue(o.get("decode").get(1).get("tokens_per_s").asDouble() > 0);
        assertTrue(o.get("peak_rss_bytes").asLong() > 0);
        assertTrue(o.get("weight_bytes_per_token").asLong() > 0
                && o.get("weight_bytes_per_token").asLong() < o.get("weight_bytes_total").asLong(),
                "a MoE model reads only the chosen experts");
    }

    @Test
    void errorsGoToStderrWithANonZeroExit(@TempDir Path tmp) throws Exception {
        CliRun missing = CliRun.of("generate", "--model", tmp.resolve("nope.gguf").toString(), "--prompt", "hi");
        assertNotEquals(0, missing.code());
        assertTrue(missing.err().contains("nope.gguf"), missing.err());
        Path junk = tmp.resolve("junk.gguf");
        Files.writeString(junk, "this is not a model");
        CliRun bad = CliRun.of("inspect", "--model", junk.toString());
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("junk.gguf"), bad.err());
        CliRun flags = CliRun.of("generate", "--model", junk.toString());
        assertNotEquals(0, flags.code());
    }

    @Test
    void prefixCacheOnReusesASharedHeadAndOffComputesItWithTheSameTokens(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        StringBuilder head = new StringBuilder("[1");
        for (int i = 0; i < 40; i++) {
            head.append(", ").append(300 + i);
        }
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\": \"a\", \"prompt_ids\": " + head + ", 7, 8], \"max_new_tokens\": 4, \"temperature\": 0}",
                "{\"id\": \"b\", \"prompt_ids\": " + head + ", 9], \"max_new_tokens\": 4, \"temperature\": 0}"));
        JsonNode[][] results = new JsonNode[2][];
        String[] modes = {"on", "off"};
        for (int m = 0; m < 2; m++) {
            Path out = tmp.resolve("out-" + modes[m] + ".jsonl");
            // one sequence at a time, so that b starts after a's head is in the cache
            CliRun r = CliRun.of("generate", "--model", model.toString(), "--input", in.toString(), "--output",
                    out.toString(), "--max-batch-size", "1", "--threads", "2", "--prefix-cache", modes[m]);
            assertEquals(0, r.code(), r.err());
            List<String> lines = Files.readAllLines(out);
            results[m] = new JsonNode[] {Json.MAPPER.readTree(lines.get(0)), Json.MAPPER.readTree(lines.get(1))};
        }
        assertEquals(0, results[0][0].get("cached_prompt_tokens").asInt(), "nothing is cached before a");
        assertEquals(32, results[0][1].get("cached_prompt_tokens").asInt(), "b reuses a's two whole 16-token blocks");
        for (int i = 0; i < 2; i++) {
            assertEquals(0, results[1][i].get("cached_prompt_tokens").asInt(), "off computes everything");
            assertEquals(results[1][i].get("token_ids"), results[0][i].get("token_ids"), "request " + i);
        }
        CliRun bad = CliRun.of("generate", "--model", model.toString(), "--prompt", "x", "--prefix-cache", "maybe");
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("--prefix-cache"), bad.err());
    }

    @Test
    void benchSharedPrefixRunsTheWorkloadWithTheCacheOnAndOff(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--type", "q8_0").code());
        CliRun r = CliRun.of("bench", "--model", model.toString(), "--shared-prefix-tokens", "40", "--tail-tokens", "3",
                "--requests", "4", "--new-tokens", "2", "--warmup-seconds", "0", "--threads", "2", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        JsonNode on = o.get("prefix_cache_on");
        JsonNode off = o.get("prefix_cache_off");
        assertEquals(4 * 43, on.get("prompt_tokens").asLong());
        assertEquals(4 * 43, off.get("computed_prompt_tokens").asLong(), "off computes every prompt token");
        assertEquals(0, off.get("cached_prompt_tokens").asLong());
        // the first request computes its 43 tokens; the other three wait for its head and reuse its two whole blocks
        assertEquals(3 * 32, on.get("cached_prompt_tokens").asLong());
        assertEquals(43 + 3 * 11, on.get("computed_prompt_tokens").asLong());
        assertEquals(8, on.get("generated_tokens").asLong());
        assertEquals(172.0 / 76, o.get("computed_prompt_tokens_off_over_on").asDouble(), 1e-12);
        assertEquals("f16", o.get("kv_type").asText());
    }
}
