package org.mixtralspark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.ExecutorEngines;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.RoutingCounts;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job in local[2] on the real engine and a tiny random model: input to output, modes, resume, tables, summary. */
class JobRunnerTest {

    private static SparkSession spark;
    private static String model;

    private static final StructType PROMPTS = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("temperature", DataTypes.DoubleType);

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    private String prompts(int n, Row... extra) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(String.format("p%03d", i), "prompt " + i, null));
        }
        rows.addAll(List.of(extra));
        String path = dir.resolve("prompts-" + n + "-" + extra.length).toString();
        spark.createDataFrame(rows, PROMPTS).repartition(3).write().parquet(path);
        return path;
    }

    private static JobOptions options(String input, String output, String... more) {
        List<String> a = new ArrayList<>(List.of("--input", input, "--model", model, "--output", output,
                "--max-new-tokens", "8", "--batch-size", "4"));
        a.addAll(List.of(more));
        return JobOptions.parse(a.toArray(String[]::new));
    }

    private static Map<String, Row> byId(Dataset<Row> df) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : df.collectAsList()) {
            m.put(r.getString(0), r);
        }
        return m;
    }

    @Test
    void everyInputRowHasOneOutputRowAndASummary() throws Exception {
        String in = prompts(40, RowFactory.create("p005", "a duplicate of p005", null),
                RowFactory.create(null, "no id", null),
                RowFactory.create("bad", "x", -2.0));
        String out = dir.resolve("out").toString();

        JobSummary s = JobRunner.run(spark, options(in, out, "--partitions", "3", "--show", "3"));

        Dataset<Row> written = spark.read().parquet(out);
        assertEquals(43, written.count());
        assertEquals(List.of("id", "generation", "finish_reason", "prompt_tokens", "completion_tokens",
                "cached_prompt_tokens", "error", "latency_ms", "model", "max_new_tokens", "temperature", "top_p",
                "top_k", "seed", "stop", "label", "label_logprobs", "run_id"),
                List.of(written.columns()));
        List<Row> p005 = written.filter("id = 'p005'").collectAsList();
        assertEquals(2, p005.size(), "a duplicate id is an error row, not a silent merge");
        Row first = p005.stream().filter(r -> r.getAs("error") == null).findFirst().orElseThrow();
        Row second = p005.stream().filter(r -> r.getAs("error") != null).findFirst().orElseThrow();
        assertEquals(TinyModels.engineAlone(TinyModels.tiny(), EngineOptions.defaults(), Map.of("p005", "prompt 5"),
                TinyModels.jobDefaults().maxNewTokens(8).build(), null).get("p005"), first.getAs("generation"));
        assertTrue(((String) second.getAs("error")).startsWith("duplicate id"));
        assertEquals("the id is null", written.filter("id is null").first().getAs("error"));
        assertTrue(((String) written.filter("id = 'bad'").first().getAs("error")).contains("temperature = -2.0"));

        List<Row> runs = written.select("run_id").distinct().collectAsList();
        assertEquals(1, runs.size(), "one run wrote every row");
        assertEquals(s.toMap().get("run_id"), runs.get(0).getString(0), "the run_id column names the summary's run");
        assertTrue(Files.isDirectory(Path.of(out, "run_id=" + runs.get(0).getString(0))), "published as one folder");

        assertEquals(43, s.rows());
        assertEquals(40, s.ok());
        assertEquals(3, s.errors());
        assertEquals(43, s.inputRows());
        assertEquals(43, s.outputRows());
        assertEquals(Map.of("driver", ExecutorEngines.loads()), s.engineLoads());
        assertTrue(s.completionTokens() > 0 && s.promptTokens() > 0);

        JsonNode json = new ObjectMapper().readTree(new File(out + ".summary.json"));
        for (String key : List.of("rows", "ok", "errors", "prompt_tokens", "completion_tokens", "wall_s",
                "tokens_per_s", "engine_loads")) {
            assertTrue(json.has(key), key);
        }
        assertEquals(43, json.get("rows").asLong());
        assertEquals(3, json.get("errors").asLong());
    }

    @Test
    void sortingPromptsRunsSharedHeadsTogetherForMoreCacheHitsWithoutChangingAnyOutput() throws Exception {
        // four heads of several blocks, six rows each, ids shuffled against heads: in id order (the order a partition
        // reaches the engine without sorting) the heads alternate
        String[] heads = new String[4];
        for (int h = 0; h < heads.length; h++) {
            heads[h] = ("rule set " + h + " says: ").repeat(6);
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, new java.util.Random(7));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            int k = order.get(i);
            rows.add(RowFactory.create(String.format("r%02d", i), heads[k % 4] + "question " + k, null));
        }
        String in = dir.resolve("shuffled-heads").toString();
        spark.createDataFrame(rows, PROMPTS).write().parquet(in);
        Map<String, Map<String, Row>> outs = new HashMap<>();
        Map<String, JobSummary> summaries = new HashMap<>();
        for (String sort : List.of("off", "on")) {
            String out = dir.resolve("sort-" + sort).toString();
            // a fresh engine each run (its cache empty), one sequence at a time, and a KV cache of one 128-token
            // sequence: a head stays cached only until a row with another head needs its blocks
            ExecutorEngines.closeAll();
            summaries.put(sort, JobRunner.run(spark, options(in, out, "--partitions", "1", "--max-batch-size", "1",
                    "--context-length", "128", "--sort-prompts", sort)));
            outs.put(sort, byId(spark.read().parquet(out)));
        }
        ExecutorEngines.closeAll();
        assertEquals(24, outs.get("on").size());
        for (String id : outs.get("off").keySet()) {
            Row off = outs.get("off").get(id);
            Row on = outs.get("on").get(id);
            for (String col : List.of("generation", "finish_reason", "prompt_tokens", "completion_tokens", "error")) {
                assertEquals(off.<Object>getAs(col), on.<Object>getAs(col), id + " " + col);
            }
        }
        long sorted = summaries.get("on").cachedPromptTokens();
        long unsorted = summaries.get("off").cachedPromptTokens();
        assertTrue(sorted > unsorted, "sorted " + sorted + " cached prompt tokens, unsorted " + unsorted);
        // sorted, each head is computed once: the other 20 rows find its whole blocks cached
        long hits = outs.get("on").values().stream().mapToInt(r -> r.<Integer>getAs("cached_prompt_tokens"))
                .filter(c -> c > 0).count();
        assertEquals(20, hits, "rows that found their head cached, sorted");
        JsonNode json = new ObjectMapper().readTree(new File(dir.resolve("sort-on") + ".summary.json"));
        assertEquals("on", json.get("options").get("sort_prompts").asText());
    }

    @Test
    void prefixCacheReusesSharedHeadsWithoutChangingAnyGeneration() throws Exception {
        String head = "you are a careful assistant who answers in one short sentence and never repeats the question "
                + "back to the user, here are the rules of the game that every answer has to follow exactly: ";
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create("h" + i, head + "question number " + i, null));
        }
        String in = dir.resolve("shared-heads").toString();
        spark.createDataFrame(rows, PROMPTS).write().parquet(in);
        Map<String, Map<String, Row>> outs = new HashMap<>();
        Map<String, JobSummary> summaries = new HashMap<>();
        for (String mode : List.of("on", "off")) {
            String out = dir.resolve("pc-" + mode).toString();
            // one sequence at a time, so that every row after the first finds the head in the cache
            summaries.put(mode, JobRunner.run(spark, options(in, out, "--partitions", "1", "--max-batch-size", "1",
                    "--prefix-cache", mode)));
            outs.put(mode, byId(spark.read().parquet(out)));
        }
        long cached = 0;
        long prompt = 0;
        for (int i = 0; i < 6; i++) {
            Row on = outs.get("on").get("h" + i);
            Row off = outs.get("off").get("h" + i);
            assertEquals(off.<String>getAs("generation"), on.getAs("generation"), "row h" + i);
            assertEquals(0, off.<Integer>getAs("cached_prompt_tokens"), "off computes every prompt token");
            cached += on.<Integer>getAs("cached_prompt_tokens");
            prompt += on.<Integer>getAs("prompt_tokens");
        }
        assertTrue(cached >= 5 * 16, "five rows each reuse at least one whole block of the head, got " + cached);
        JobSummary on = summaries.get("on");
        assertEquals(cached, on.cachedPromptTokens());
        assertEquals(prompt, on.promptTokens());
        assertEquals((double) cached / prompt, on.prefixCacheHitRate(), 1e-12);
        assertEquals(0, summaries.get("off").cachedPromptTokens());
        assertEquals(0.0, summaries.get("off").prefixCacheHitRate());
        JsonNode json = new ObjectMapper().readTree(new File(dir.resolve("pc-on") + ".summary.json"));
        assertEquals(cached, json.get("cached_prompt_tokens").asLong());
        assertEquals(Math.round((double) cached / prompt * 10000) / 10000.0,
                json.get("prefix_cache_hit_rate").asDouble());
        assertEquals("on", json.get("options").get("prefix_cache").asText());
    }

    @Test
    void routingStatsAreTheEnginesCountsOfTheJobSummedOverItsTasks() throws Exception {
        String in = prompts(24);
        String out = dir.resolve("routed").toString();
        String stats = dir.resolve("stats/routing.json").toString();
        JobOptions o = options(in, out, "--partitions", "3", "--routing-stats", stats);
        RoutingCounts before = ExecutorEngines.get(o.modelSpec()).routingCounts();

        JobSummary s = JobRunner.run(spark, o);

        // local mode: the job's one engine is this JVM's; what it counted during the job is what the job reports,
        // although three tasks shared it at once
        RoutingCounts during = ExecutorEngines.get(o.modelSpec()).routingCounts().minus(before);
        JsonNode json = new ObjectMapper().readTree(new File(stats));
        assertTrue(json.get("available").asBoolean());
        int layers = json.get("layers").asInt();
        int experts = json.get("experts").asInt();
        int k = json.get("experts_per_token").asInt();
        assertEquals(layers * experts, json.get("counts").size());
        long[][] got = new long[layers][experts];
        for (JsonNode row : json.get("counts")) {
            got[row.get("layer").asInt()][row.get("expert").asInt()] = row.get("tokens").asLong();
        }
        assertTrue(java.util.Arrays.deepEquals(during.tokens(), got), java.util.Arrays.deepToString(got));
        // each row's prompt is computed once (less what the prefix cache held), and each generated token but its last is fed back
        long computed = s.promptTokens() - s.cachedPromptTokens() + s.completionTokens() - s.ok();
        for (int l = 0; l < layers; l++) {
            assertEquals(computed * k, java.util.Arrays.stream(got[l]).sum(), "layer " + l);
        }
    }

    @Test
    void writeModes() {
        String in = prompts(10);
        String out = dir.resolve("modes").toString();
        JobRunner.run(spark, options(in, out));
        JobException e = assertThrows(JobException.class, () -> JobRunner.run(spark, options(in, out)));
        assertTrue(e.getMessage().contains("exists already: choose --mode overwrite, append or resume"));

        JobRunner.run(spark, options(in, out, "--mode", "append"));
        assertEquals(20, spark.read().parquet(out).count(), "append adds, as asked");
        JobRunner.run(spark, options(in, out, "--mode", "overwrite"));
        assertEquals(10, spark.read().parquet(out).count());
        JobSummary s = JobRunner.run(spark, options(in, out, "--mode", "resume"));
        assertEquals(0, s.rows(), "nothing left to do");
        assertEquals(10, s.skippedExisting());
        assertEquals(10, spark.read().parquet(out).count());
    }

    @Test
    void resumeRewritesExactlyTheMissingRows() throws Exception {
        String in = prompts(60);
        String out = dir.resolve("resume").toString();
        JobOptions first = options(in, out, "--partitions", "4", "--temperature", "0.8", "--seed", "7");
        JobRunner.run(spark, first);
        Map<String, Row> before = byId(spark.read().parquet(out));
        assertEquals(60, before.size());

        // Lose two of the four part files, as a crash between two appends, or a cleanup, would.
        List<Path> parts;
        try (var files = Files.walk(Path.of(out))) {
            parts = files.filter(p -> p.getFileName().toString().startsWith("part-")
                    && !p.toString().contains("/_")).sorted().toList();
        }
        Set<String> lost = new TreeSet<>();
        for (Path p : parts.subList(0, 2)) {
            spark.read().parquet(p.toString()).collectAsList().forEach(r -> lost.add(r.getString(0)));
            Files.delete(p);
            Files.deleteIfExists(p.resolveSibling("." + p.getFileName() + ".crc"));
        }
        assertTrue(lost.size() > 0 && lost.size() < 60);

        JobSummary s = JobRunner.run(spark, options(in, out, "--partitions", "3", "--temperature", "0.8",
                "--seed", "7", "--mode", "resume"));
        assertEquals(lost.size(), s.rows(), "only the missing ids are generated");
        assertEquals(60 - lost.size(), s.skippedExisting());

        Map<String, Row> after = byId(spark.read().parquet(out));
        assertEquals(60, spark.read().parquet(out).count(), "no id twice");
        assertEquals(before.keySet(), after.keySet());
        for (String id : lost) {
            assertEquals((String) before.get(id).getAs("generation"), after.get(id).getAs("generation"),
                    "with a job seed, a rerun row is the same row: " + id);
        }
    }

    @Test
    void sameSeedSameOutputWithTwoPartitionCounts() {
        String in = prompts(30);
        JobRunner.run(spark, options(in, dir.resolve("two").toString(), "--partitions", "2", "--temperature", "0.9",
                "--seed", "99", "--max-new-tokens", "10"));
        JobRunner.run(spark, options(in, dir.resolve("five").toString(), "--partitions", "5", "--temperature", "0.9",
                "--seed", "99", "--max-new-tokens", "10", "--batch-size", "3"));
        Map<String, Row> two = byId(spark.read().parquet(dir.resolve("two").toString()));
        Map<String, Row> five = byId(spark.read().parquet(dir.resolve("five").toString()));
        assertEquals(30, two.size());
        for (String id : two.keySet()) {
            assertEquals((String) two.get(id).getAs("generation"), five.get(id).getAs("generation"), id);
        }
        Set<String> distinct = two.values().stream().map(r -> (String) r.getAs("generation"))
                .collect(Collectors.toSet());
        assertTrue(distinct.size() > 5, "temperature > 0: rows differ from each other: " + distinct);
    }

    @Test
    void catalogTableWrittenAndReadBackAndResumed() {
        String in = prompts(12);
        spark.read().parquet(in).createOrReplaceTempView("prompt_view");
        spark.read().parquet(in).filter("id < 'p007'").createOrReplaceTempView("first_prompts");
        JobSummary s = JobRunner.run(spark, options("first_prompts", "generations_t", "--input-format", "table",
                "--output-format", "table"));
        assertEquals(7, s.outputRows());
        assertEquals(7, spark.table("generations_t").count());

        JobSummary r = JobRunner.run(spark, options("prompt_view", "generations_t", "--input-format", "table",
                "--output-format", "table", "--mode", "resume"));
        assertEquals(5, r.rows());
        assertEquals(7, r.skippedExisting());
        assertEquals(12, spark.table("generations_t").count());
        assertEquals(12, spark.table("generations_t").select("id").distinct().count());
        assertNull(spark.table("generations_t").filter("id = 'p008'").first().getAs("error"));
    }

    @Test
    void icebergTableWrittenReadBackAndResumed() {
        String in = prompts(15);
        String warehouse = dir.resolve("iceberg").toString();
        JobSummary s = JobRunner.run(spark, options(in, "db.generations", "--output-format", "iceberg",
                "--iceberg-warehouse", warehouse));
        assertEquals(15, s.outputRows());
        assertEquals(15, spark.table("mixtral.db.generations").count());
        Row p003 = spark.table("mixtral.db.generations").filter("id = 'p003'").first();

        spark.sql("DELETE FROM mixtral.db.generations WHERE id < 'p004'");
        assertEquals(11, spark.table("mixtral.db.generations").count());
        JobSummary r = JobRunner.run(spark, options(in, "db.generations", "--output-format", "iceberg",
                "--iceberg-warehouse", warehouse, "--mode", "resume"));
        assertEquals(4, r.rows());
        assertEquals(15, spark.table("mixtral.db.generations").count());
        assertEquals(15, spark.table("mixtral.db.generations").select("id").distinct().count());
        assertNull(spark.table("mixtral.db.generations").filter("id = 'p000'").first().getAs("error"));
        assertEquals(p003.<String>getAs("generation"),
                spark.table("mixtral.db.generations").filter("id = 'p003'").first().getAs("generation"),
                "greedy: the rewritten row is the row it replaces");
    }

    @Test
    void aMissingModelStopsALocalJobBeforeItRuns() {
        String in = prompts(2);
        List<String> a = new ArrayList<>(List.of("--input", in, "--model", "no/such/model.gguf", "--output",
                dir.resolve("y").toString()));
        JobException e = assertThrows(JobException.class,
                () -> JobRunner.run(spark, JobOptions.parse(a.toArray(String[]::new))));
        assertTrue(e.getMessage().startsWith("--model no/such/model.gguf: no such file or folder"), e.getMessage());
    }

    @Test
    void schemaProblemsStopTheJobBeforeItRuns() {
        String in = prompts(3);
        JobException e = assertThrows(JobException.class,
                () -> JobRunner.run(spark, options(in, dir.resolve("x").toString(), "--prompt-col", "text")));
        assertTrue(e.getMessage().contains("prompt column text is not in the input"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve("x")));
    }
}
