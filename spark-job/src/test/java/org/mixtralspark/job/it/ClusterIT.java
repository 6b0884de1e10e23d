package org.mixtralspark.job.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.mixtralspark.engine.cli.MixtralCli;
import org.mixtralspark.job.ExamplePrompts;
import org.mixtralspark.udf.testing.TestSpark;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job on a real standalone cluster: a Master and two Workers on 127.0.0.1, one 1-core executor JVM per Worker,
 * the shaded job jar submitted with {@code org.apache.spark.deploy.SparkSubmit} in client mode as users do, the real
 * engine on a tiny random-weight model. Runs with {@code -Pcluster-it} (see spark-job/README-section.md).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PROMPTS = 60;

    private static Path repo;
    private static Path work;
    private static Path jobJar;
    private static Path model;
    private static Path input;
    private static Path chatInput;
    private static final int CHATS = 20;
    private static StandaloneCluster cluster;
    private static SparkSession local;
    private static final long T0 = System.nanoTime();

    @BeforeAll
    static void startCluster() throws Exception {
        repo = Path.of(System.getProperty("mixtral.root", "..")).toAbsolutePath().normalize();
        jobJar = Path.of(System.getProperty("mixtral.jobJar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jobJar), "the shaded job jar " + jobJar + " (mvn package) is missing");
        Path target = repo.resolve("spark-job/target");
        work = target.resolve("cluster-it");
        deleteRecursively(work);
        Files.createDirectories(work);

        Path sparkHome = StandaloneCluster.assembleSparkHome(repo, target.resolve("spark-home"));
        model = work.resolve("model/tiny.gguf");
        Files.createDirectories(model.getParent());
        assertEquals(0, MixtralCli.run("random-model", "--out", model.toString(), "--preset", "tiny", "--seed", "3"));

        // The input: 60 prompts plus a duplicate id and a bad row, as one Parquet folder.
        local = TestSpark.session();
        List<Row> rows = new ArrayList<>(ExamplePrompts.rows(PROMPTS));
        rows.add(RowFactory.create("ex-0007", "a second row with the id ex-0007", null, null));
        rows.add(RowFactory.create("bad-max", "asks for no tokens at all", 0, null));
        input = work.resolve("prompts");
        ExamplePrompts.frame(local, rows).repartition(3).write().parquet(input.toString());

        // A chat input: the model's chat template (the engine's sandboxed Jinja interpreter, in the job jar) runs on
        // the executors.
        StructType message = new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
        StructType chatSchema = new StructType().add("id", DataTypes.LongType)
                .add("messages", DataTypes.createArrayType(message));
        List<Row> chats = new ArrayList<>();
        for (long i = 0; i < CHATS - 1; i++) {
            chats.add(RowFactory.create(i, List.of(RowFactory.create("user", "Tell me about topic " + i))));
        }
        chats.add(RowFactory.create(999L, List.of(RowFactory.create("assistant", "I speak first, which is wrong"))));
        chatInput = work.resolve("chats");
        local.createDataFrame(chats, chatSchema).repartition(2).write().parquet(chatInput.toString());

        cluster = new StandaloneCluster(sparkHome, work.resolve("cluster"));
        cluster.start(2, 1, "2g");
        log("cluster up at " + cluster.masterUrl());
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        log("cluster stopped");
    }

    private static void log(String s) {
        System.err.printf("[ClusterIT %5.1f s] %s%n", (System.nanoTime() - T0) / 1e9, s);
    }

    /** spark-submit, as a user runs it (client mode), with the project's conf/spark-defaults.conf. */
    private static Submitted submit(String name, String... jobArgs) throws Exception {
        return submit(name, List.of(), jobArgs);
    }

    private static Submitted submit(String name, List<String> sparkArgs, String... jobArgs) throws Exception {
        Path out = work.resolve("submit-" + name + ".log");
        long t = System.nanoTime();
        Process p = start(name, List.of(), sparkArgs, jobArgs);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("spark-submit " + name + " did not finish in 300 s:\n"
                    + StandaloneCluster.tail(out, 60) + "\n" + cluster.executorLogs(30));
        }
        log("submit " + name + ": exit " + p.exitValue() + " in " + String.format("%.1f", (System.nanoTime() - t)
                / 1e9) + " s");
        if (p.exitValue() != 0) {
            throw new AssertionError("spark-submit " + name + " exited with " + p.exitValue() + ":\n"
                    + StandaloneCluster.tail(out, 80) + "\n" + cluster.executorLogs(40));
        }
        return new Submitted(p.pid(), out);
    }

    /**
     * Starts spark-submit without waiting; its log is {@code submit-<name>.log}. {@code driverJvmArgs} go to the
     * driver's JVM (client mode: the spark-submit JVM), e.g. the test-only task delay of the fault tests.
     */
    private static Process start(String name, List<String> driverJvmArgs, List<String> sparkArgs, String... jobArgs)
            throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(StandaloneCluster.javaBin());
        cmd.add("-Xmx768m");
        cmd.addAll(driverJvmArgs);
        cmd.addAll(StandaloneCluster.FAST_START);
        cmd.addAll(StandaloneCluster.moduleOptions());
        cmd.add("-cp");
        cmd.add(cluster.sparkHome().resolve("conf") + ":" + cluster.sparkHome().resolve("jars") + "/*");
        cmd.add("org.apache.spark.deploy.SparkSubmit");
        cmd.addAll(List.of("--master", cluster.masterUrl(), "--deploy-mode", "client",
                "--class", "org.mixtralspark.job.MixtralSparkJob", "--name", "cluster-it-" + name,
                "--properties-file", repo.resolve("conf/spark-defaults.conf").toString(),
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2",
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s",
                "--conf", "spark.locality.wait=0", "--conf", "spark.sql.shuffle.partitions=4",
                "--conf", "spark.sql.warehouse.dir=" + work.resolve("warehouse").toUri()));
        cmd.addAll(sparkArgs);
        cmd.add(jobJar.toString());
        cmd.addAll(List.of("--model", model.toString(), "--max-new-tokens", "8", "--temperature", "0.8",
                "--seed", "11", "--batch-size", "4", "--partitions", "4"));
        cmd.addAll(List.of(jobArgs));
        Path out = work.resolve("submit-" + name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        cluster.environment(pb.environment());
        return cluster.track(pb.start());
    }

    private record Submitted(long driverPid, Path log) {
    }

    private static JsonNode summary(String path) throws Exception {
        return JSON.readTree(new File(path));
    }

    private static Map<String, String> generations(String parquet) {
        Map<String, String> m = new HashMap<>();
        for (Row r : local.read().parquet(parquet).filter("error is null").select("id", "generation").collectAsList()) {
            m.put(r.getString(0), r.getString(1));
        }
        return m;
    }

    @Test
    @Order(1)
    void everyRowOnceAndOneEnginePerExecutorJvm() throws Exception {
        String out = work.resolve("out/generations").toString();
        Submitted s = submit("parquet", "--input", input.toString(), "--output", out);

        List<Row> written = local.read().parquet(out).collectAsList();
        assertEquals(PROMPTS + 2, written.size(), "one output row per input row");
        Map<String, Integer> perId = new HashMap<>();
        for (Row r : written) {
            perId.merge(r.getString(0), 1, Integer::sum);
        }
        assertEquals(PROMPTS + 1, perId.size());
        assertEquals(2, perId.get("ex-0007"), "the duplicate id is an error row of its own");
        assertEquals(1, local.read().parquet(out).filter("id = 'ex-0007' and error like 'duplicate id%'").count());
        assertTrue(local.read().parquet(out).filter("id = 'bad-max'").first().<String>getAs("error")
                .contains("max_new_tokens = 0"));

        JsonNode sum = summary(out + ".summary.json");
        assertEquals(PROMPTS + 2, sum.get("rows").asLong());
        assertEquals(2, sum.get("errors").asLong());
        assertTrue(sum.get("completion_tokens").asLong() > 0);
        JsonNode loads = sum.get("engine_loads");
        assertEquals(2, loads.size(), "two executors ran tasks: " + loads);
        loads.fields().forEachRemaining(e -> assertEquals(1, e.getValue().asInt(),
                "executor " + e.getKey() + " loaded the engine exactly once"));
        Set<Long> pids = new HashSet<>();
        sum.get("executor_pids").forEach(p -> pids.add(p.asLong()));
        assertEquals(2, pids.size(), "two executor JVMs");
        assertFalse(pids.contains(s.driverPid()), "executors are not the driver");
        log("executor pids " + pids + ", driver " + s.driverPid() + "; summary " + sum.get("tokens_per_s")
                + " tokens/s, wall " + sum.get("wall_s") + " s");
    }

    @Test
    @Order(2)
    void resumeRewritesExactlyTheDeletedRows() throws Exception {
        String out = work.resolve("out/generations").toString();
        Map<String, String> before = generations(out);
        List<Path> parts;
        try (Stream<Path> files = Files.walk(Path.of(out))) {
            parts = files.filter(p -> p.getFileName().toString().startsWith("part-")
                    && !p.toString().contains("/_")).sorted().toList();
        }
        assertTrue(parts.size() >= 2, "parts: " + parts);
        Set<String> deleted = new TreeSet<>();
        for (Path p : parts.subList(0, 2)) {
            local.read().parquet(p.toString()).collectAsList().forEach(r -> deleted.add(r.getString(0)));
            Files.delete(p);
            Files.deleteIfExists(p.resolveSibling("." + p.getFileName() + ".crc"));
        }
        long left = local.read().parquet(out).count();
        log("deleted " + deleted.size() + " ids in 2 part files; " + left + " rows left");

        submit("resume", "--input", input.toString(), "--output", out, "--mode", "resume");

        JsonNode sum = summary(out + ".summary.json");
        List<Row> after = local.read().parquet(out).collectAsList();
        assertEquals(PROMPTS + 2, after.size(), "every row back, none twice");
        assertEquals(PROMPTS + 2 - left, sum.get("rows").asLong(), "only the deleted rows were generated");
        Map<String, String> again = generations(out);
        assertEquals(before.keySet(), again.keySet());
        for (String id : deleted) {
            if (before.containsKey(id)) {
                assertEquals(before.get(id), again.get(id), "seeded: the rewritten row is the same row, " + id);
            }
        }
    }

    @Test
    @Order(3)
    void catalogTableOfChatRowsWrittenAndReadBack() throws Exception {
        submit("table", "--input", chatInput.toString(), "--messages-col", "messages", "--output", "chats",
                "--output-format", "table", "--summary", work.resolve("table.summary.json").toString());
        JsonNode sum = summary(work.resolve("table.summary.json").toString());
        assertEquals(CHATS, sum.get("output_rows").asLong(), "read back from the catalog by the job");
        assertEquals(1, sum.get("errors").asLong());
        // The in-memory catalog is gone with the application; its table's files stay in the warehouse.
        Dataset<Row> table = local.read().parquet(work.resolve("warehouse/chats").toString());
        assertEquals(CHATS, table.count());
        assertTrue(table.filter("id = 999").first().<String>getAs("error")
                .startsWith("the chat template rejected the messages"));
        assertEquals(CHATS - 1, table.filter("error is null and prompt_tokens > 5").count());
    }

    @Test
    @Order(4)
    void icebergTableWrittenAndReadBackWithTheModelShippedByFiles() throws Exception {
        Path warehouse = work.resolve("iceberg");
        // The model travels with --files this time: the executors find it by name in their working folders.
        submit("iceberg", List.of("--files", model.toString()), "--model", model.getFileName().toString(),
                "--input", input.toString(), "--output", "db.generations", "--output-format", "iceberg",
                "--iceberg-warehouse", warehouse.toString(), "--summary", work.resolve("iceberg.summary.json").toString());
        assertEquals(PROMPTS + 2, summary(work.resolve("iceberg.summary.json").toString()).get("output_rows").asLong());
        local.conf().set("spark.sql.catalog.it_iceberg", "org.apache.iceberg.spark.SparkCatalog");
        local.conf().set("spark.sql.catalog.it_iceberg.type", "hadoop");
        local.conf().set("spark.sql.catalog.it_iceberg.warehouse", warehouse.toString());
        assertEquals(PROMPTS + 2, local.table("it_iceberg.db.generations").count());
        Map<String, String> parquet = generations(work.resolve("out/generations").toString());
        Map<String, String> iceberg = new HashMap<>();
        for (Row r : local.table("it_iceberg.db.generations").filter("error is null").collectAsList()) {
            iceberg.put(r.getAs("id"), r.getAs("generation"));
        }
        assertEquals(parquet, iceberg, "same seed, same rows, whichever table and run");
        assertNotEquals(0, iceberg.size());
        log("total " + String.format("%.1f", (System.nanoTime() - T0) / 1e9) + " s");
    }

    /** The test-only delay (TestDelay): each task waits this long before its first row, so kills land mid-job. */
    private static final List<String> SLOW_TASKS = List.of("-Dmixtral.test.taskDelayMs=3000");

    /** The rows of a Parquet output: each id (but the duplicate ex-0007) once, the text of the first run. */
    private static void assertSameRowsAsTheFirstRun(String out) {
        List<Row> written = local.read().parquet(out).collectAsList();
        assertEquals(PROMPTS + 2, written.size(), "one output row per input row");
        Map<String, Integer> perId = new HashMap<>();
        written.forEach(r -> perId.merge(r.getString(0), 1, Integer::sum));
        perId.forEach((id, n) -> assertEquals(id.equals("ex-0007") ? 2 : 1, n, "rows with id " + id));
        assertEquals(generations(work.resolve("out/generations").toString()), generations(out),
                "same seed, same text as the uninterrupted first run");
    }

    private static void awaitWhile(Process driver, String what, java.util.function.BooleanSupplier done)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (!done.getAsBoolean()) {
            assertTrue(driver.isAlive(), "the driver ended before " + what);
            assertTrue(System.nanoTime() < deadline, "no " + what + " in 240 s");
            Thread.sleep(20);
        }
    }

    /** Files (task folders of the v1 committer) committed so far in the run's staging folder of {@code out}. */
    private static long committedTasks(String out) {
        Path staging = Path.of(out, "_mixtral/staging");
        if (!Files.isDirectory(staging)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(staging)) {
            return s.filter(p -> p.getFileName().toString().startsWith("task_")).count();
        } catch (Exception e) {
            return 0;
        }
    }

    /** The executor JVMs: the Workers' child processes running CoarseGrainedExecutorBackend. */
    private static List<ProcessHandle> executors() {
        List<ProcessHandle> found = new ArrayList<>();
        for (Process w : cluster.workers()) {
            w.descendants().filter(h -> h.info().arguments().map(a -> String.join(" ", a)
                    .contains("CoarseGrainedExecutorBackend")).orElse(false)).forEach(found::add);
        }
        return found;
    }

    @Test
    @Order(5)
    void executorKilledWhileGeneratingEveryRowOnceSameText() throws Exception {
        String out = work.resolve("out/executor-killed").toString();
        Process driver = start("executor-killed", SLOW_TASKS, List.of(), "--input", input.toString(),
                "--output", out);
        awaitWhile(driver, "a staging folder with two executors up", () -> Files.isDirectory(
                Path.of(out, "_mixtral/staging")) && executors().size() == 2);
        ProcessHandle victim = executors().get(0);
        log("SIGKILL executor pid " + victim.pid() + " while its task generates");
        assertTrue(victim.destroyForcibly());
        assertTrue(victim.onExit().get(30, TimeUnit.SECONDS).pid() == victim.pid());
        assertTrue(driver.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, driver.exitValue(), StandaloneCluster.tail(work.resolve("submit-executor-killed.log"), 60));
        String log = Files.readString(work.resolve("submit-executor-killed.log"));
        assertTrue(log.contains("Lost executor") || log.contains("ExecutorLost"), "Spark saw the executor's loss");
        assertSameRowsAsTheFirstRun(out);
    }

    @Test
    @Order(6)
    void driverKilledWhileWritingThenResumeEveryRowOnceSameText() throws Exception {
        String out = work.resolve("out/driver-killed").toString();
        // Slow tasks: the second run below has time to start (a JVM and a SparkContext) while the first writes.
        Process driver = start("driver-killed", List.of("-Dmixtral.test.taskDelayMs=25000"), List.of(),
                "--input", input.toString(), "--output", out);
        awaitWhile(driver, "the first run's lock", () -> Files.exists(Path.of(out, "_mixtral/lock")));

        // A second run on the same output meanwhile fails at once, naming the first (it needs no executor).
        Process second = start("concurrent", List.of(), List.of("--conf", "spark.scheduler.minRegisteredResourcesRatio=0"),
                "--input", input.toString(), "--output", out, "--mode", "resume");
        assertTrue(second.waitFor(180, TimeUnit.SECONDS));
        assertEquals(1, second.exitValue());
        String secondLog = Files.readString(work.resolve("submit-concurrent.log"));
        assertTrue(secondLog.contains("mixtral-spark: error: the output Parquet " + out + " is in use by run"),
                StandaloneCluster.tail(work.resolve("submit-concurrent.log"), 30));

        awaitWhile(driver, "a committed task in the staging folder", () -> committedTasks(out) >= 1);
        long committed = committedTasks(out);
        assertTrue(committed < 4, "killed mid-write: " + committed + " of 4 tasks committed");
        log("SIGKILL driver pid " + driver.pid() + " with " + committed + " committed task(s) staged");
        driver.destroyForcibly();
        assertTrue(driver.waitFor(30, TimeUnit.SECONDS));
        try (Stream<Path> s = Files.list(Path.of(out))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("run_id=")),
                    "nothing of the killed run is published");
        }

        submit("driver-killed-resume", "--input", input.toString(), "--output", out, "--mode", "resume");
        assertSameRowsAsTheFirstRun(out);
        assertFalse(Files.exists(Path.of(out, "_mixtral/lock")));
    }

    @Test
    @Order(7)
    void speculativeCopyOnASecondHostEveryRowOnceSameText() throws Exception {
        cluster.addWorker("127.0.0.2", 1, "2g");
        String out = work.resolve("out/speculation").toString();
        // Only partition 0's first attempt is slow (test-only TestDelay); its speculative copy runs on another host.
        Process driver = start("speculation", List.of("-Dmixtral.test.stragglerMs=90000"), List.of(
                "--conf", "spark.cores.max=3", "--conf", "spark.speculation=true",
                "--conf", "spark.speculation.interval=200ms", "--conf", "spark.speculation.quantile=0.5",
                "--conf", "spark.speculation.multiplier=2", "--conf", "spark.speculation.minTaskRuntime=3s"),
                "--input", input.toString(), "--output", out);
        assertTrue(driver.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, driver.exitValue(), StandaloneCluster.tail(work.resolve("submit-speculation.log"), 60));
        String app = summary(out + ".summary.json").get("app_id").asText();
        StringBuilder executors = new StringBuilder();
        try (Stream<Path> logs = Files.walk(work.resolve("cluster"))) {
            for (Path p : logs.filter(p -> p.toString().contains("/" + app + "/")
                    && p.getFileName().toString().equals("stderr")).toList()) {
                executors.append(Files.readString(p));
            }
        }
        assertTrue(java.util.regex.Pattern.compile("partition 0 attempt 1 \\(TID \\d+\\) done").matcher(executors)
                .find(), "a speculative copy (attempt 1) of partition 0 generated its rows:\n" + executors);
        assertSameRowsAsTheFirstRun(out);
    }

    /**
     * Label scoring on the cluster: rows with a labels column, rows taking the job's --labels, and a bad list; the
     * labels travel through the executors' Arrow batches and come back as the label and label_logprobs columns, with
     * the scores the engine alone gives in this JVM.
     */
    @Test
    @Order(8)
    void scoringRowsGetTheirLabelScoresOnTheExecutors() throws Exception {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("labels", DataTypes.createArrayType(DataTypes.StringType, true));
        List<Row> rows = new ArrayList<>();
        Map<String, List<String>> asked = new HashMap<>();
        for (int i = 0; i < 16; i++) {
            List<String> labels = i % 2 == 0 ? List.of("yes", "no") : List.of("red", "green", "blue sky " + i);
            asked.put("s" + i, labels);
            rows.add(RowFactory.create("s" + i, "question number " + i + " is", i % 2 == 0 ? null
                    : labels.toArray()));
        }
        rows.add(RowFactory.create("dup", "a bad list", new Object[] {"x", "x"}));
        Path in = work.resolve("scoring-in");
        local.createDataFrame(rows, schema).repartition(3).write().parquet(in.toString());
        String out = work.resolve("out/scores").toString();
        submit("scoring", "--input", in.toString(), "--output", out, "--labels", "yes,no");

        Map<String, Row> byId = new HashMap<>();
        for (Row r : local.read().parquet(out).collectAsList()) {
            assertEquals(null, byId.put(r.getAs("id"), r), "one row per id");
        }
        assertEquals(rows.size(), byId.size());
        assertTrue(byId.get("dup").<String>getAs("error").contains("\"x\" is given twice"));
        try (org.mixtralspark.engine.serving.Engine e = org.mixtralspark.engine.serving.Engines.open(model,
                org.mixtralspark.engine.serving.EngineOptions.defaults().withThreads(1))) {
            for (Map.Entry<String, List<String>> a : asked.entrySet()) {
                Row r = byId.get(a.getKey());
                assertTrue(r.isNullAt(r.fieldIndex("error")), r.toString());
                org.mixtralspark.engine.serving.LabelScores expected = e.submit(
                        new org.mixtralspark.engine.serving.GenerationRequest("x",
                                org.mixtralspark.engine.serving.Prompts.fromText(e, "question number "
                                        + a.getKey().substring(1) + " is"),
                                org.mixtralspark.engine.sampling.SamplingParams.defaults())
                                .withLabels(org.mixtralspark.engine.serving.Prompts.labels(e, a.getValue(), false)))
                        .join().labelScores();
                assertEquals(expected.best(), r.getAs("label"), a.getKey());
                Map<String, Double> got = r.getJavaMap(r.fieldIndex("label_logprobs"));
                assertEquals(a.getValue().size(), got.size(), a.getKey());
                for (org.mixtralspark.engine.serving.LabelScores.Label l : expected.labels()) {
                    assertEquals(l.logprob(), got.get(l.label()), 1e-6, a.getKey() + " " + l.label());
                }
            }
        }
        JsonNode sum = summary(out + ".summary.json");
        assertEquals(rows.size(), sum.get("rows").asLong());
        assertEquals(1, sum.get("errors").asLong());
        log("scoring: " + asked.size() + " rows scored on the executors");
    }

    /** The schema of the structured-output run; the same text is validated by networknt's validator. */
    private static final String PERSON = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
            + "\"ok\":{\"type\":\"boolean\"},\"tag\":{\"enum\":[\"red\",\"green\"]}},"
            + "\"required\":[\"n\",\"ok\",\"tag\"],\"additionalProperties\":false}";

    @Test
    @Order(9)
    void structuredOutputRowsThatStopParseAndValidate() throws Exception {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("response_format", DataTypes.StringType);
        String format = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"t\",\"schema\":" + PERSON + "}}";
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            rows.add(RowFactory.create("j" + i, "record " + i, format));
        }
        rows.add(RowFactory.create("bad", "record", "{\"type\":\"json_schema\",\"schema\":{\"not\":{}}}"));
        Path in = work.resolve("structured-in");
        local.createDataFrame(rows, schema).repartition(3).write().parquet(in.toString());
        String out = work.resolve("out/structured").toString();
        // temperature 1 on random weights: unconstrained, these tokens would be noise
        submit("structured", "--input", in.toString(), "--output", out, "--max-new-tokens", "48",
                "--temperature", "1");

        com.networknt.schema.JsonSchema validator = com.networknt.schema.JsonSchemaFactory
                .getInstance(com.networknt.schema.SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(PERSON));
        List<Row> written = local.read().parquet(out).collectAsList();
        assertEquals(rows.size(), written.size(), "one output row per input row");
        int stopped = 0;
        for (Row r : written) {
            String id = r.getAs("id");
            if (id.equals("bad")) {
                assertEquals("error", r.getAs("finish_reason"));
                assertTrue(r.<String>getAs("error").contains("'not'"), r.<String>getAs("error"));
                continue;
            }
            assertTrue(r.isNullAt(r.fieldIndex("error")), id + ": " + r.getAs("error"));
            if (r.<String>getAs("finish_reason").equals("stop")) {
                stopped++;
                JsonNode value = JSON.readTree(r.<String>getAs("generation"));
                assertTrue(validator.validate(value).isEmpty(), id + ": " + r.getAs("generation") + " "
                        + validator.validate(value));
            } else {
                assertEquals("length", r.getAs("finish_reason"), id);
            }
        }
        assertTrue(stopped > 0, "at least one row completed its object");
        log("structured output: " + stopped + " of 16 rows stopped, all valid");
    }

    @Test
    @Order(10)
    void nSamplesPerRowWithLogprobsOnTheExecutors() throws Exception {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("n", DataTypes.IntegerType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create("s" + i, "sample me " + i, i % 2 == 0 ? null : 4));
        }
        Path in = work.resolve("samples-in");
        local.createDataFrame(rows, schema).repartition(2).write().parquet(in.toString());
        String out = work.resolve("out/samples").toString();
        submit("samples", "--input", in.toString(), "--output", out, "--n", "3", "--logprobs", "2");

        List<Row> written = local.read().parquet(out).collectAsList();
        assertEquals(rows.size(), written.size(), "one output row per input id");
        for (Row r : written) {
            String id = r.getAs("id");
            assertTrue(r.isNullAt(r.fieldIndex("error")), id + ": " + r.getAs("error"));
            List<Row> samples = r.getList(r.fieldIndex("samples"));
            assertEquals(Integer.parseInt(id.substring(1)) % 2 == 0 ? 3 : 4, samples.size(), id);
            assertEquals(r.<String>getAs("generation"), samples.get(0).getAs("generation"), id);
            List<Row> logprobs = r.getList(r.fieldIndex("logprobs"));
            assertEquals(r.<Integer>getAs("completion_tokens"), logprobs.size(), id);
            logprobs.forEach(t -> assertEquals(2, t.getList(t.fieldIndex("top")).size()));
        }
    }

    private static void deleteRecursively(Path p) throws Exception {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
