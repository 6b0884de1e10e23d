package org.mixtralspark.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobOptionsTest {

    private static final String[] REQUIRED = {"--input", "in.parquet", "--model", "m.gguf", "--output", "out"};

    private static String[] with(String... more) {
        String[] all = new String[REQUIRED.length + more.length];
        System.arraycopy(REQUIRED, 0, all, 0, REQUIRED.length);
        System.arraycopy(more, 0, all, REQUIRED.length, more.length);
        return all;
    }

    @Test
    void defaults() {
        JobOptions o = JobOptions.parse(REQUIRED);
        assertEquals("parquet", o.inputFormat());
        assertEquals("id", o.idCol());
        assertEquals("prompt", o.promptCol());
        assertNull(o.messagesCol());
        assertEquals("error-if-exists", o.mode());
        assertEquals(64, o.sampling().maxNewTokens());
        assertEquals(0.0f, o.sampling().temperature());
        assertNull(o.jobSeed());
        assertEquals("auto", o.modelSpec().options().device());
        assertEquals("mapped", o.modelSpec().options().weightMemory());
        assertEquals("heap", JobOptions.parse("--input", "x", "--model", "m", "--output", "o", "--weight-memory",
                "heap").modelSpec().engineOptions().weightMemory(), "reaches the engine options");
        assertEquals("fast", o.modelSpec().options().cpuMath());
        assertEquals("exact", JobOptions.parse("--input", "x", "--model", "m", "--output", "o", "--cpu-math",
                "exact").modelSpec().engineOptions().cpuMath(), "reaches the engine options");
        assertEquals(0, o.partitions());
        assertTrue(o.modelSpec().engineOptions().prefixCache(), "issue 10: prefix caching is on by default");
        assertFalse(JobOptions.parse("--input", "x", "--model", "m", "--output", "o", "--prefix-cache", "off")
                .modelSpec().engineOptions().prefixCache(), "--prefix-cache off reaches the engine options");
        assertEquals("off", JobOptions.parse("--input", "x", "--model", "m", "--output", "o", "--prefix-cache", "off")
                .describe().get("prefix_cache"), "the summary's options say it");
        assertEquals("f16", o.modelSpec().engineOptions().kvType(), "issue 10: f16 KV by default, as llama.cpp");
        assertEquals("bf16", JobOptions.parse("--input", "x", "--model", "m", "--output", "o", "--kv-type", "BF16")
                .modelSpec().engineOptions().kvType(), "--kv-type reaches the engine options");
    }

    @Test
    void prefixCacheFromTheConfigFile(@TempDir Path dir) throws Exception {
        // YAML 1.1 reads a bare off as the boolean false: the key must still mean "off", not an error
        for (String value : List.of("off", "\"off\"", "false")) {
            Path yaml = dir.resolve("pc.yaml");
            Files.writeString(yaml, "input: x\nmodel: m\noutput: o\nprefix-cache: " + value + "\n");
            assertFalse(JobOptions.parse("--config", yaml.toString()).modelSpec().engineOptions().prefixCache(),
                    value);
        }
        Path props = dir.resolve("pc.properties");
        Files.writeString(props, "input=x\nmodel=m\noutput=o\nprefix_cache=on\n");
        assertTrue(JobOptions.parse("--config", props.toString()).modelSpec().engineOptions().prefixCache());
    }

    @Test
    void flagsOverrideTheConfigFileWhichOverridesDefaults(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, """
                # a job
                input: from-config.parquet
                model: m.gguf
                output: out
                max_new_tokens: 12
                temperature: 0.7
                seed: 42
                stop: ["\\n", "END"]
                conf:
                  spark.sql.shuffle.partitions: 3
                """);
        JobOptions o = JobOptions.parse("--config", yaml.toString(), "--temperature", "0.2");
        assertEquals("from-config.parquet", o.input());
        assertEquals(12, o.sampling().maxNewTokens());
        assertEquals(0.2f, o.sampling().temperature(), "the flag wins");
        assertEquals(42L, o.jobSeed());
        assertEquals(List.of("\n", "END"), o.sampling().stopStrings());
        assertEquals(Map.of("spark.sql.shuffle.partitions", "3"), o.confs());

        JobOptions flags = JobOptions.parse("--config", yaml.toString(), "--stop", "X", "--input", "cli.parquet");
        assertEquals(List.of("X"), flags.sampling().stopStrings());
        assertEquals("cli.parquet", flags.input());

        Path props = dir.resolve("job.properties");
        Files.writeString(props, "input=p.parquet\nmodel=m\noutput=o\nmode=resume\nstop=a,b\n");
        JobOptions p = JobOptions.parse("--config", props.toString());
        assertEquals("resume", p.mode());
        assertEquals(List.of("a", "b"), p.sampling().stopStrings());
    }

    @Test
    void unknownConfigKeysAreRejected(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "input: x\nmax_tokens: 5\n");
        JobOptions.UsageException e = assertThrows(JobOptions.UsageException.class,
                () -> JobOptions.parse("--config", yaml.toString()));
        assertTrue(e.getMessage().contains("unknown key 'max-tokens'"), e.getMessage());
    }

    @Test
    void badValuesNameTheFlag() {
        assertEquals("--temperature = -1.0: must be >= 0", message(with("--temperature", "-1")));
        assertEquals("--max-new-tokens = 0: must be >= 1", message(with("--max-new-tokens", "0")));
        assertEquals("--top-p = 2.0: must be in (0, 1]", message(with("--top-p", "2")));
        assertEquals("--mode upsert: must be one of [error-if-exists, overwrite, append, resume]",
                message(with("--mode", "upsert")));
        assertEquals("--output-format delta: must be one of [parquet, table, iceberg]",
                message(with("--output-format", "delta")));
        assertEquals("give --prompt-col or --messages-col, not both",
                message(with("--prompt-col", "p", "--messages-col", "m")));
        assertTrue(message(with("--device", "tpu")).startsWith(
                "--device/--threads/--max-batch-size/--context-length/--weight-memory/--cpu-math/--kv-type: device = tpu: "
                        + "must be auto, cpu"));
        assertEquals("--device/--threads/--max-batch-size/--context-length/--weight-memory/--cpu-math/--kv-type: "
                + "weight memory = disk: must be auto, heap or mapped", message(with("--weight-memory", "disk")));
        assertEquals("--device/--threads/--max-batch-size/--context-length/--weight-memory/--cpu-math/--kv-type: "
                + "CPU math = quick: must be fast or exact", message(with("--cpu-math", "quick")));
        assertEquals("--device/--threads/--max-batch-size/--context-length/--weight-memory/--cpu-math/--kv-type: "
                + "KV type = f8: must be f32, f16 or bf16", message(with("--kv-type", "f8")));
        assertEquals("--input is required: a Parquet path or a table name", message("--model", "m", "--output", "o"));
        assertEquals("--partitions = \"many\": not a number", message(with("--partitions", "many")));
        String pc = message(with("--prefix-cache", "maybe"));
        assertTrue(pc.contains("--prefix-cache") && pc.contains("maybe") && pc.contains("on") && pc.contains("off"), pc);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "--max-new-tokens | 1e12        | --max-new-tokens = 1e12: out of range: must be a whole number in [1, 2147483647]",
        "--max-new-tokens | 10000000000 | --max-new-tokens = 10000000000: out of range: must be a whole number in [1, 2147483647]",
        "--max-new-tokens | 2.5         | --max-new-tokens = 2.5: must be a whole number",
        "--top-k          | 1e10        | --top-k = 1e10: out of range: must be a whole number in [0, 2147483647]",
        "--partitions     | 3e9         | --partitions = 3e9: out of range: must be a whole number in [0, 2147483647]",
        "--batch-size     | -1e10       | --batch-size = -1e10: out of range: must be a whole number in [1, 2147483647]",
        "--max-batch-size | 1e11        | --max-batch-size = 1e11: out of range: must be a whole number in [1, 2147483647]",
        "--context-length | 1e11        | --context-length = 1e11: out of range: must be a whole number in [0, 2147483647]",
        "--threads        | 0.5         | --threads = 0.5: must be a whole number",
        "--show           | lots        | --show = \"lots\": not a number",
        "--seed           | 1e30        | --seed = 1e30: out of range: must be a whole number in [-9223372036854775808, 9223372036854775807]",
        "--seed           | 1.5         | --seed = 1.5: must be a whole number",
        "--temperature    | 1e39        | --temperature = 1.0E39: out of range: must be a number in [-3.4028235E38, 3.4028235E38]",
        "--temperature    | NaN         | --temperature = NaN: not a finite number",
        "--top-p          | abc         | --top-p = \"abc\": not a number",
    })
    void numericFlagsSayWhatIsWrongWithTheValue(String flag, String value, String expected) {
        assertEquals(expected, message(with(flag, value)));
    }

    @Test
    void aNumericValueFromTheConfigFileIsNamedAsSuch(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "max-new-tokens: 1e12\n");
        String m = message(with("--config", yaml.toString()));
        assertTrue(m.startsWith("--config " + yaml + ": --max-new-tokens = "), m);
        assertTrue(m.endsWith(": out of range: must be a whole number in [1, 2147483647]"), m);
        // the same value on the command line is the flag's
        assertEquals("--max-new-tokens = 1e12: out of range: must be a whole number in [1, 2147483647]",
                message(with("--config", yaml.toString(), "--max-new-tokens", "1e12")));
    }

    @Test
    void responseFormatFromTheFlagTheFileOrTheConfigAndBadOnesNameTheFlag(@TempDir Path dir) throws Exception {
        String choice = "{\"type\":\"choice\",\"choices\":[\"yes\",\"no\"]}";
        assertNull(JobOptions.parse(REQUIRED).responseFormat());
        assertEquals(choice, JobOptions.parse(with("--response-format", choice)).responseFormat());
        Path file = dir.resolve("format.json");
        Files.writeString(file, choice);
        assertEquals(choice, JobOptions.parse(with("--response-format", "@" + file)).responseFormat());
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "response-format: '" + choice + "'\n");
        assertEquals(choice, JobOptions.parse(with("--config", yaml.toString())).responseFormat());

        String keyword = message(with("--response-format", "{\"type\":\"json_schema\",\"schema\":{\"not\":{}}}"));
        assertTrue(keyword.startsWith("--response-format: ") && keyword.contains("'not'"), keyword);
        String notJson = message(with("--response-format", "{type: choice"));
        assertTrue(notJson.startsWith("--response-format: response_format is not valid JSON"), notJson);
        String missing = message(with("--response-format", "@" + dir.resolve("absent.json")));
        assertTrue(missing.startsWith("--response-format: cannot read ") && missing.contains("absent.json"), missing);
        assertEquals(2, MixtralSparkJob.run(with("--response-format", "{\"type\":\"grammar\"}")));
        assertEquals("--response-format cannot be combined with --stop [END]: a stop string could end the output "
                + "inside the structure", message(with("--response-format", choice, "--stop", "END")));
    }

    @Test
    void exitCodeTwoForBadOptionsWithoutStartingSpark() {
        assertEquals(2, MixtralSparkJob.run("--input", "x", "--temperature", "-3"));
        assertEquals(0, MixtralSparkJob.run("--help"));
    }

    private static String message(String... args) {
        return assertThrows(JobOptions.UsageException.class, () -> JobOptions.parse(args)).getMessage();
    }
}
