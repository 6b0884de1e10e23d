package org.mixtralspark.job;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exactly once under real process faults, in local mode: the job's driver runs in a JVM of its own (the job's main,
 * started with ProcessBuilder) and is SIGKILLed by pid mid-generation or mid-write; then a resume finishes the work.
 * Two runs at once on one output: the second fails and nothing interleaves. Each case checks the row count, each id
 * exactly once, and the text against an uninterrupted run with the same seed.
 * <p>
 * The killed JVMs get the test-only delay {@link TestDelay} (each task waits before its first row), so a kill lands
 * where it is meant to: the file system is polled until the run's staging folder has some, not all, committed tasks.
 */
class ExactlyOnceTest {

    private static final int PROMPTS = 24;
    private static final int PARTITIONS = 4;
    private static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType);

    private static SparkSession spark;
    private static String model;
    private static Path shared;
    private static String input;
    private static Map<String, String> uninterrupted;

    @TempDir
    Path dir;

    private Process child;

    @BeforeAll
    static void inputAndUninterruptedRun() throws Exception {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
        shared = Files.createTempDirectory("exactly-once");
        input = writePrompts(shared.resolve("prompts"), PROMPTS);
        String ref = shared.resolve("uninterrupted").toString();
        JobRunner.run(spark, options(input, ref));
        uninterrupted = generations(ref);
        assertEquals(PROMPTS, uninterrupted.size());
    }

    @AfterEach
    void noChildLeft() {
        if (child != null && child.isAlive()) {
            child.destroyForcibly();
        }
    }

    private static String writePrompts(Path where, int n) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(String.format("q%03d", i), "prompt number " + i));
        }
        spark.createDataFrame(rows, SCHEMA).repartition(3).write().parquet(where.toString());
        return where.toString();
    }

    private static List<String> args(String in, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("--input", in, "--model", model, "--output", out,
                "--max-new-tokens", "8", "--batch-size", "4", "--partitions", Integer.toString(PARTITIONS),
                "--temperature", "0.8", "--seed", "7"));
        a.addAll(List.of(more));
        return a;
    }

    private static JobOptions options(String in, String out, String... more) {
        return JobOptions.parse(args(in, out, more).toArray(String[]::new));
    }

    /** id → generation, failing if an id is there twice. */
    private static Map<String, String> generations(String out) {
        Map<String, String> m = new HashMap<>();
        for (Row r : spark.read().parquet(out).select("id", "generation").collectAsList()) {
            String before = m.put(r.getString(0), r.getString(1));
            assertEquals(null, before, "id " + r.getString(0) + " is in the output twice");
        }
        return m;
    }

    private static void assertExactlyTheUninterruptedRun(String out) {
        assertEquals(PROMPTS, spark.read().parquet(out).count(), "one row per input row");
        assertEquals(uninterrupted, generations(out), "same ids, each once, same text as the uninterrupted run");
        assertFalse(Files.exists(Path.of(out, "_mixtral/staging")) && list(Path.of(out, "_mixtral/staging")) > 0,
                "the dead run's staging folder is removed");
        assertFalse(Files.exists(Path.of(out, "_mixtral/lock")), "the lock is released");
    }

    /** The job's main in a JVM of its own, local[1], each task waiting {@code delayMs} before its first row. */
    private Process startDriver(String out, long delayMs, String... more) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.")
                    || a.startsWith("-Dio.netty")) {
                cmd.add(a);
            }
        }
        cmd.add("-Xmx1g");
        cmd.add("-D" + TestDelay.PROPERTY + "=" + delayMs);
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(MixtralSparkJob.class.getName());
        cmd.addAll(args(input, out, more));
        cmd.addAll(List.of("--master", "local[1]", "--conf", "spark.ui.enabled=false", "--conf",
                "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1"));
        Path log = dir.resolve("driver-" + System.nanoTime() + ".log");
        child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return child;
    }

    private static long list(Path folder) {
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Task folders the v1 committer has committed in a run's staging folder (not yet published). */
    private static long committedTasks(String out) {
        Path staging = Path.of(out, "_mixtral/staging");
        if (!Files.isDirectory(staging)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(staging)) {
            return s.filter(p -> p.getFileName().toString().startsWith("task_")
                    && p.getParent().getParent().getFileName().toString().equals("_temporary")).count();
        } catch (java.io.IOException e) {
            return 0; // the committer renamed something while we walked: look again
        }
    }

    private static boolean published(String out) {
        try (Stream<Path> s = Files.list(Path.of(out))) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("run_id="));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private void await(String what, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (!condition.getAsBoolean()) {
            assertTrue(child.isAlive(), "the driver ended (exit " + (child.isAlive() ? "" : child.exitValue())
                    + ") before " + what);
            assertTrue(System.nanoTime() < deadline, "no " + what + " in 240 s");
            Thread.sleep(20);
        }
    }

    private void sigkill(Process p) throws Exception {
        p.destroyForcibly(); // SIGKILL on Unix: no shutdown hook, no cleanup
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
    }

    @Test
    void driverKilledMidWriteThenResumeWritesEachRowOnce() throws Exception {
        String out = dir.resolve("out").toString();
        Process driver = startDriver(out, 2500);
        await("committed task in the staging folder", () -> committedTasks(out) >= 1);
        long committed = committedTasks(out);
        sigkill(driver);
        assertTrue(committed < PARTITIONS, "killed while writing: " + committed + " of " + PARTITIONS + " tasks");
        assertFalse(published(out), "nothing of the dead run is published");
        assertTrue(Files.exists(Path.of(out, "_mixtral/lock")), "the dead run's lock stays behind");

        JobSummary s = JobRunner.run(spark, options(input, out, "--mode", "resume"));

        assertEquals(PROMPTS, s.rows(), "the dead run's committed tasks were not merged: all rows regenerated");
        assertExactlyTheUninterruptedRun(out);
    }

    @Test
    void driverKilledMidGenerationOfAResumeThenResumeAgain() throws Exception {
        String out = dir.resolve("out").toString();
        String firstHalf = writePrompts(dir.resolve("first-half"), PROMPTS / 2);
        JobRunner.run(spark, options(firstHalf, out));
        assertEquals(PROMPTS / 2, spark.read().parquet(out).count());

        Process driver = startDriver(out, 4000, "--mode", "resume");
        await("a staging folder", () -> list(Path.of(out, "_mixtral/staging")) > 0);
        assertEquals(0, committedTasks(out), "killed while generating, before any task committed");
        sigkill(driver);
        assertEquals(PROMPTS / 2, spark.read().parquet(out).count(), "the output is as the first run left it");

        JobSummary s = JobRunner.run(spark, options(input, out, "--mode", "resume"));

        assertEquals(PROMPTS - PROMPTS / 2, s.rows(), "only the ids not published before");
        assertExactlyTheUninterruptedRun(out);
    }

    @Test
    void aSecondRunOnTheSameOutputFailsAndNothingInterleaves() throws Exception {
        String out = dir.resolve("out").toString();
        Process driver = startDriver(out, 1500, "--mode", "overwrite");
        String pid = "pid=" + driver.pid() + "\n";
        await("the first run's lock", () -> {
            try {
                return Files.readString(Path.of(out, "_mixtral/lock")).contains(pid);
            } catch (java.io.IOException e) {
                return false;
            }
        });
        for (String mode : List.of("overwrite", "resume", "append")) {
            JobException e = assertThrows(JobException.class,
                    () -> JobRunner.run(spark, options(input, out, "--mode", mode)));
            assertTrue(e.getMessage().contains("is in use by run") && e.getMessage().contains("pid " + driver.pid()),
                    e.getMessage());
        }
        assertTrue(driver.waitFor(240, TimeUnit.SECONDS), "the first run ends");
        assertEquals(0, driver.exitValue(), "the first run was not disturbed");
        assertExactlyTheUninterruptedRun(out);
    }

    @Test
    void anOutputInsideAFileFailsBeforeAnythingRunsWithOneErrorLine() throws Exception {
        Path file = dir.resolve("a-file");
        Files.writeString(file, "not a folder");
        Process driver = startDriver(file.resolve("out").toString(), 0);
        assertTrue(driver.waitFor(240, TimeUnit.SECONDS));
        assertEquals(1, driver.exitValue());
        List<String> lines;
        try (Stream<Path> logs = Files.list(dir)) {
            Path log = logs.filter(p -> p.getFileName().toString().startsWith("driver-")).findFirst().orElseThrow();
            lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
        }
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith("mixtral-spark: error: --output " + file.resolve("out")
                + ": cannot create the folder"), last);
        assertEquals(1, lines.stream().filter(l -> l.startsWith("mixtral-spark: error:")).count());
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ")), "no stack trace without -Dmixtral.debug");
        assertFalse(lines.stream().anyMatch(l -> l.contains("PartitionGenerator")), "nothing ran");
        assertEquals("not a folder", Files.readString(file));
    }

    @Test
    void leftoversOfDeadRunsAreRemovedNeverMerged() throws Exception {
        String out = dir.resolve("out").toString();
        JobRunner.run(spark, options(input, out));
        Path part;
        try (Stream<Path> s = Files.walk(Path.of(out))) {
            part = s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        // What Hadoop's committer merged in the reported bug: a dead run's committed task folder under _temporary.
        Path oldTemporary = Path.of(out, "_temporary/0/task_202612070000_0001_m_000000");
        Path deadStaging = Path.of(out, "_mixtral/staging/20261207T000000Z-deadbeef/_temporary/0/task_1");
        for (Path p : List.of(oldTemporary, deadStaging)) {
            Files.createDirectories(p);
            Files.copy(part, p.resolve(part.getFileName()));
        }

        JobSummary s = JobRunner.run(spark, options(input, out, "--mode", "resume"));

        assertEquals(0, s.rows(), "nothing left to generate");
        assertFalse(Files.exists(oldTemporary.getParent().getParent()), "the old _temporary is removed");
        assertExactlyTheUninterruptedRun(out);
    }

    @Test
    void anOutputOfTheEarlierLayoutIsResumedWithoutDoubles() throws Exception {
        // The earlier job wrote its part files straight into the folder: copy a published run's files there.
        Path legacy = dir.resolve("legacy");
        Files.createDirectories(legacy);
        Path ref = shared.resolve("uninterrupted");
        long copied;
        try (Stream<Path> s = Files.walk(ref)) {
            List<Path> parts = s.filter(p -> p.getFileName().toString().startsWith("part-")).toList();
            for (Path p : parts.subList(0, parts.size() - 1)) {
                Files.copy(p, legacy.resolve(p.getFileName()));
            }
            copied = parts.size() - 1;
        }
        assertTrue(copied >= 1);
        long before = spark.read().parquet(legacy.toString()).count();
        assertTrue(before < PROMPTS);

        JobSummary s = JobRunner.run(spark, options(input, legacy.toString(), "--mode", "resume"));

        assertEquals(PROMPTS - before, s.rows());
        assertExactlyTheUninterruptedRun(legacy.toString());
        assertTrue(Files.isDirectory(legacy.resolve(OutputTable.ParquetOutput.LEGACY)));
    }
}
