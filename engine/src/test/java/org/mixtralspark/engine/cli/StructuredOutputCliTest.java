package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.oracle.Oracle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --response-format} and {@code response_format} in batch lines, on the oracle's mini-mistral. */
class StructuredOutputCliTest {

    private static final String SCHEMA = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"schema\":"
            + "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},"
            + "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120}},\"required\":[\"name\",\"age\"],"
            + "\"additionalProperties\":false}}}";

    @Test
    void generateWithAResponseFormatFromTheFlagAndFromAFile(@TempDir Path tmp) throws Exception {
        String model = Oracle.model("mini-mistral-q8_0.gguf").toString();
        CliRun r = CliRun.of("generate", "--model", model, "--prompt", "Who?", "--temperature", "1", "--seed", "3",
                "--max-new-tokens", "60", "--response-format", SCHEMA, "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("stop", o.get("finish_reason").asText(), r.out());
        JsonNode value = Json.MAPPER.readTree(o.get("text").asText());
        assertEquals(List.of("name", "age"), names(value), value.toString());
        assertTrue(value.get("age").isInt() && value.get("age").asInt() <= 120, value.toString());

        Path file = tmp.resolve("format.json");
        Files.writeString(file, "{\"type\":\"regex\",\"pattern\":\"[a-c]{3}-\\\\d\"}");
        CliRun fromFile = CliRun.of("generate", "--model", model, "--prompt", "Code:", "--temperature", "1", "--seed", "1",
                "--max-new-tokens", "20", "--response-format", "@" + file);
        assertEquals(0, fromFile.code(), fromFile.err());
        assertTrue(Pattern.matches("[a-c]{3}-\\d", fromFile.out().strip()), fromFile.out());
    }

    @Test
    void aBadResponseFormatFlagExitsTwoNamingTheProblem() {
        String model = Oracle.model("mini-mistral-q8_0.gguf").toString();
        CliRun r = CliRun.of("generate", "--model", model, "--prompt", "x", "--response-format",
                "{\"type\":\"json_schema\",\"schema\":{\"type\":\"string\",\"uniqueItems\":true}}");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--response-format") && r.err().contains("'uniqueItems'"), r.err());
    }

    @Test
    void batchLinesCarryTheirOwnResponseFormatAndABadOneIsThatLinesError(@TempDir Path tmp) throws Exception {
        String model = Oracle.model("mini-mistral-q8_0.gguf").toString();
        Path in = tmp.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"id\":\"a\",\"prompt\":\"Label:\",\"response_format\":{\"type\":\"choice\",\"choices\":[\"cat\",\"dog\"]}}",
                "{\"id\":\"b\",\"prompt\":\"JSON:\",\"max_new_tokens\":60}",
                "{\"id\":\"c\",\"prompt\":\"JSON:\",\"response_format\":\"{\\\"type\\\":\\\"regex\\\",\\\"pattern\\\":\\\"(?=x)\\\"}\"}",
                "{\"id\":\"d\",\"prompt\":\"free\",\"response_format\":null,\"max_new_tokens\":3}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("generate", "--model", model, "--input", in.toString(), "--output", out.toString(),
                "--temperature", "1", "--seed", "7", "--response-format", SCHEMA);
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals(4, lines.size());
        JsonNode a = Json.MAPPER.readTree(lines.get(0));
        assertTrue(List.of("cat", "dog").contains(a.get("text").asText()), lines.get(0));
        JsonNode b = Json.MAPPER.readTree(lines.get(1));
        assertEquals("stop", b.get("finish_reason").asText(), lines.get(1));
        assertTrue(Json.MAPPER.readTree(b.get("text").asText()).has("age"), lines.get(1)); // the flag's default
        JsonNode c = Json.MAPPER.readTree(lines.get(2));
        assertEquals("error", c.get("finish_reason").asText(), lines.get(2));
        assertTrue(c.get("error").asText().contains("lookaround"), lines.get(2));
        JsonNode d = Json.MAPPER.readTree(lines.get(3));
        assertEquals("length", d.get("finish_reason").asText(), lines.get(3)); // free text: null turns it off
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new java.util.ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
