package org.mixtralspark.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.GenerationColumns;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * n samples per row and log-probabilities through the whole job (local mode, the tiny model at temperature 1): the
 * samples column, --explode-samples, and resume keyed on (id, sample_index).
 */
class SamplesJobTest {

    private static final StructType INPUT = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("n", DataTypes.IntegerType);

    private static SparkSession spark;
    private static String model;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    private String input(String name, List<Row> rows, boolean withN) {
        String path = dir.resolve(name).toString();
        Dataset<Row> df = spark.createDataFrame(rows, INPUT);
        (withN ? df : df.drop("n")).repartition(2).write().parquet(path);
        return path;
    }

    private static JobOptions options(String in, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("--input", in, "--model", model, "--output", out,
                "--max-new-tokens", "6", "--temperature", "1", "--seed", "5", "--batch-size", "4"));
        a.addAll(List.of(more));
        return JobOptions.parse(a.toArray(String[]::new));
    }

    private static Map<String, Row> byKey(Dataset<Row> df, boolean exploded) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : df.collectAsList()) {
            String key = r.getAs("id") + (exploded ? "#" + r.getAs(GenerationColumns.SAMPLE_INDEX) : "");
            assertNull(m.put(key, r), "one output row per key: " + key);
        }
        return m;
    }

    @Test
    void oneRowPerIdWithEverySampleAndSampleZeroAsTheGeneration() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add(RowFactory.create("r" + i, "story " + i, i % 2 == 0 ? null : 4));
        }
        rows.add(RowFactory.create("bad", "story", 65));
        String in = input("in", rows, true);
        String out = dir.resolve("out").toString();
        JobSummary summary = JobRunner.run(spark, options(in, out, "--n", "2", "--logprobs", "2"));
        Map<String, Row> got = byKey(spark.read().parquet(out), false);
        assertEquals(rows.size(), got.size());
        long allSamplesTokens = 0;
        for (Row r : got.values()) {
            if (!r.isNullAt(r.fieldIndex(GenerationColumns.SAMPLES))) {
                for (Row sample : r.<Row>getList(r.fieldIndex(GenerationColumns.SAMPLES))) {
                    allSamplesTokens += sample.<Integer>getAs("completion_tokens");
                }
            }
        }
        assertEquals(allSamplesTokens, summary.completionTokens(), "the summary counts every sample's tokens");

        String single = dir.resolve("single").toString();
        JobRunner.run(spark, options(input("in-no-n", rows.subList(0, 8), false), single));
        Map<String, Row> one = byKey(spark.read().parquet(single), false);
        assertFalse(List.of(spark.read().parquet(single).columns()).contains(GenerationColumns.SAMPLES),
                "n = 1 and no n column: the output is as before");

        for (int i = 0; i < 8; i++) {
            Row r = got.get("r" + i);
            assertNull(r.getAs(GenerationColumns.ERROR), r.toString());
            List<Row> samples = r.getList(r.fieldIndex(GenerationColumns.SAMPLES));
            assertEquals(i % 2 == 0 ? 2 : 4, samples.size(), "the n cell, else --n: " + r);
            assertEquals((String) r.getAs(GenerationColumns.GENERATION), samples.get(0).getAs("generation"));
            assertEquals((int) r.getAs(GenerationColumns.COMPLETION_TOKENS),
                    (int) samples.get(0).getAs("completion_tokens"));
            assertEquals((String) one.get("r" + i).getAs(GenerationColumns.GENERATION),
                    r.getAs(GenerationColumns.GENERATION), "n does not change sample 0");
            List<Row> logprobs = r.getList(r.fieldIndex(GenerationColumns.LOGPROBS));
            assertEquals((int) r.getAs(GenerationColumns.COMPLETION_TOKENS), logprobs.size());
        }
        Row bad = got.get("bad");
        assertEquals("error", bad.getAs(GenerationColumns.FINISH_REASON));
        assertTrue(((String) bad.getAs(GenerationColumns.ERROR)).contains("n = 65"), bad.toString());
    }

    @Test
    void explodedSamplesResumeRegeneratesExactlyTheMissingSampleRows() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create(String.format("p%02d", i), "tale " + i, null));
        }
        rows.add(RowFactory.create("bad", "tale", 0));
        String in = input("in", rows, true);
        String out = dir.resolve("out").toString();
        JobRunner.run(spark, options(in, out, "--n", "3", "--explode-samples", "--partitions", "2"));
        Dataset<Row> written = spark.read().parquet(out);
        List<String> columns = List.of(written.columns());
        assertEquals(List.of("id", GenerationColumns.SAMPLE_INDEX, GenerationColumns.GENERATION),
                columns.subList(0, 3));
        assertFalse(columns.contains(GenerationColumns.SAMPLES));
        Map<String, Row> before = byKey(written, true);
        assertEquals(6 * 3 + 1, before.size(), "three rows per good id, one for the error row");
        assertEquals("error", before.get("bad#0").getAs(GenerationColumns.FINISH_REASON));

        // Drop some sample rows from one part file: every sample 1 in it, and sample 2 of its first id.
        Path part;
        try (var files = Files.walk(Path.of(out))) {
            part = files.filter(p -> p.getFileName().toString().startsWith("part-") && !p.toString().contains("/_")
                    && p.toString().endsWith(".parquet")).sorted().findFirst().orElseThrow();
        }
        Dataset<Row> inPart = spark.read().parquet(part.toString());
        String firstId = inPart.orderBy("id").first().getAs("id");
        org.apache.spark.sql.Column keep = col(GenerationColumns.SAMPLE_INDEX).notEqual(1)
                .and(col("id").notEqual(firstId).or(col(GenerationColumns.SAMPLE_INDEX).notEqual(2)));
        Dataset<Row> kept = inPart.filter(keep);
        Set<String> lost = new TreeSet<>();
        // the complement by filter, not except(): set operations refuse the map column label_logprobs
        inPart.filter(org.apache.spark.sql.functions.not(keep)).collectAsList().forEach(r -> lost.add(r.getAs("id") + "#"
                + r.getAs(GenerationColumns.SAMPLE_INDEX)));
        assertTrue(lost.size() >= 2, lost.toString());
        Set<String> lostIds = new TreeSet<>();
        lost.forEach(k -> lostIds.add(k.substring(0, k.indexOf('#'))));
        String tmp = dir.resolve("rewrite").toString();
        kept.coalesce(1).write().parquet(tmp);
        Path replacement;
        try (var files = Files.list(Path.of(tmp))) {
            replacement = files.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        Files.delete(part);
        Files.deleteIfExists(part.resolveSibling("." + part.getFileName() + ".crc"));
        Files.move(replacement, part.resolveSibling("part-99999-rewritten.snappy.parquet"));

        JobSummary s = JobRunner.run(spark, options(in, out, "--n", "3", "--explode-samples", "--partitions", "3",
                "--mode", "resume"));
        // the error row (n = 0) has its one row and asks for no more: it is not run again
        assertEquals(lostIds.size(), s.rows(), "only the ids missing a sample run again");
        Map<String, Row> after = byKey(spark.read().parquet(out), true);
        assertEquals(before.keySet(), after.keySet(), "every (id, sample_index) once again, no more");
        for (String key : before.keySet()) {
            assertEquals((String) before.get(key).getAs(GenerationColumns.GENERATION),
                    after.get(key).getAs(GenerationColumns.GENERATION), "with a job seed a sample is the same: " + key);
        }
        Set<String> rewritten = new TreeSet<>();
        for (Row r : spark.read().parquet(out).collectAsList()) {
            if (!r.getAs("run_id").equals(before.get(r.getAs("id") + "#" + r.getAs(GenerationColumns.SAMPLE_INDEX))
                    .getAs("run_id"))) {
                rewritten.add(r.getAs("id") + "#" + r.getAs(GenerationColumns.SAMPLE_INDEX));
            }
        }
        assertEquals(lost, rewritten, "the resume wrote exactly the missing sample rows");

        JobException mixed = assertThrows(JobException.class,
                () -> JobRunner.run(spark, options(in, out, "--n", "3", "--mode", "resume")));
        assertTrue(mixed.getMessage().contains("--explode-samples"), mixed.getMessage());
    }

    @Test
    void theConfigFileTakesTheSampleKeys() throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "input: x\nmodel: m\noutput: o\nn: 3\nlogprobs: 2\nexplode-samples: true\n");
        JobOptions o = JobOptions.parse("--config", yaml.toString());
        assertEquals(3, o.sampling().n());
        assertEquals(2, o.sampling().logprobs());
        assertTrue(o.explodeSamples());
        JobOptions flags = JobOptions.parse("--config", yaml.toString(), "--n", "5");
        assertEquals(5, flags.sampling().n(), "a flag overrides the file");
        JobOptions none = JobOptions.parse("--input", "x", "--model", "m", "--output", "o");
        assertEquals(1, none.sampling().n());
        assertEquals(0, none.sampling().logprobs());
        assertFalse(none.explodeSamples());
    }

    @Test
    void badSampleFlagsAreRefusedNamingTheFlag() {
        JobOptions.UsageException e = assertThrows(JobOptions.UsageException.class,
                () -> options("in", "out", "--n", "65"));
        assertTrue(e.getMessage().startsWith("--n = 65"), e.getMessage());
        e = assertThrows(JobOptions.UsageException.class, () -> options("in", "out", "--logprobs", "21"));
        assertTrue(e.getMessage().startsWith("--logprobs = 21"), e.getMessage());
    }
}
