package org.mixtralspark.engine.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bad model through the CLI's main entry: exactly one line on stderr, {@code mixtral: error: <file>: <what>
 * (<tensor or key>)}, and a non-zero exit.
 */
class ModelErrorLineTest {

    @TempDir
    Path tmp;

    /** Asserts the run failed with one stderr line that starts with the file and ends with the key. */
    private static void assertOneErrorLine(CliRun r, Path file, String what, String key) {
        assertNotEquals(0, r.code(), r.err());
        String err = errorLines(r);
        assertTrue(err.endsWith("\n") && err.indexOf('\n') == err.length() - 1, "one line: " + r.err());
        String prefix = "mixtral: error: " + file + ": ";
        assertTrue(err.startsWith(prefix), "starts with \"" + prefix + "\": " + err);
        assertTrue(err.contains(what), "lacks \"" + what + "\": " + err);
        assertTrue(err.strip().endsWith("(" + key + ")"), "ends with (" + key + "): " + err);
    }

    /**
     * stderr without log lines: the engine's (slf4j-simple's "[thread] LEVEL logger - ..." at INFO in tests) and, when
     * a fuzz test ran earlier in the same test JVM, the Jazzer agent's ("INFO: Instrumented ...").
     */
    private static String errorLines(CliRun r) {
        StringBuilder kept = new StringBuilder();
        for (String line : r.err().split("(?<=\n)")) {
            if (!line.matches("(\\[[^]]+\\] (TRACE|DEBUG|INFO|WARN) |INFO: ).*\\R?")) {
                kept.append(line);
            }
        }
        return kept.toString();
    }

    @Test
    void aGgufWhoseTensorCountIsOneShort() throws Exception {
        Path model = tmp.resolve("m.gguf");
        assertEquals(0, CliRun.of("random-model", "--out", model.toString(), "--preset", "tiny").code());
        byte[] bytes = Files.readAllBytes(model);
        ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(8, header.getLong(8) - 1);
        Files.write(model, bytes);
        assertOneErrorLine(CliRun.of("generate", "--model", model.toString(), "--prompt", "hi"), model,
                "bytes follow the last tensor", "tensor_count");
    }

    @Test
    void aConfigWithZeroHeads() throws Exception {
        Path dir = tmp.resolve("hf");
        assertEquals(0, CliRun.of("random-model", "--out", dir.toString(), "--format", "hf", "--preset", "tiny").code());
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceAll("\"num_attention_heads\" : \\d+",
                "\"num_attention_heads\" : 0").replaceAll("\"head_dim\" : \\d+,?", ""));
        assertOneErrorLine(CliRun.of("generate", "--model", dir.toString(), "--prompt", "hi"), config,
                "num_attention_heads = 0", "num_attention_heads");
    }

    @Test
    void controlCharactersFromTheFileDoNotBreakTheLine() throws Exception {
        // A message quoting the file's bytes: a NUL would make grep call stderr binary, a newline split the line.
        Path dir = tmp.resolve("hf");
        assertEquals(0, CliRun.of("random-model", "--out", dir.toString(), "--format", "hf", "--preset", "tiny").code());
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceAll("\"model_type\" : \"[a-z]+\"",
                "\"model_type\" : \"x\\\\u0000y\\\\nz\""));
        CliRun r = CliRun.of("generate", "--model", dir.toString(), "--prompt", "hi");
        assertNotEquals(0, r.code());
        assertTrue(errorLines(r).startsWith("mixtral: error: " + config + ": model_type = x\\u0000y z"), r.err());
        assertEquals(1, errorLines(r).split("\n", -1).length - 1, r.err());
    }
}
