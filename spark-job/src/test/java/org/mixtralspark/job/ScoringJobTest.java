package org.mixtralspark.job;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.LabelScores;
import org.mixtralspark.engine.serving.Prompts;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Label scoring through the whole job (local mode, Parquet in and out): the per-row {@code labels} column, the
 * job-wide {@code --labels} default, generating rows beside scoring rows, and a bad list among good rows. Each score
 * is the engine's alone for that prompt and those labels.
 */
class ScoringJobTest {

    private static final StructType INPUT = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("labels", DataTypes.createArrayType(DataTypes.StringType, true));

    private static SparkSession spark;
    private static String model;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    private List<Row> run(List<Row> rows, String... more) {
        String in = dir.resolve("in-" + more.length).toString();
        spark.createDataFrame(rows, INPUT).repartition(2).write().parquet(in);
        String out = dir.resolve("out-" + more.length).toString();
        List<String> a = new ArrayList<>(List.of("--input", in, "--model", model, "--output", out,
                "--max-new-tokens", "4", "--seed", "3", "--batch-size", "2"));
        a.addAll(List.of(more));
        JobRunner.run(spark, JobOptions.parse(a.toArray(String[]::new)));
        return spark.read().parquet(out).collectAsList();
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            m.put(r.getAs("id"), r);
        }
        return m;
    }

    private static void assertScoredAsTheEngineAlone(Row r, String prompt, List<String> labels) {
        LabelScores s;
        try (Engine e = Engines.open(Path.of(model), EngineOptions.defaults().withThreads(2))) {
            s = e.submit(new GenerationRequest("x", Prompts.fromText(e, prompt), SamplingParams.defaults())
                    .withLabels(Prompts.labels(e, labels, false))).join().labelScores();
        }
        assertTrue(r.isNullAt(r.fieldIndex("error")), r.toString());
        assertEquals("stop", r.getAs("finish_reason"));
        assertEquals(s.best(), r.getAs("label"));
        Map<String, Double> got = r.getJavaMap(r.fieldIndex("label_logprobs"));
        assertEquals(labels.size(), got.size(), r.toString());
        for (LabelScores.Label l : s.labels()) {
            assertEquals(l.logprob(), got.get(l.label()), l.label());
        }
    }

    @Test
    void rowsWithALabelsColumnScoreThemBesideGeneratingRows() {
        List<Row> rows = List.of(
                RowFactory.create("a", "the film was", new Object[] {"good", "bad", "not what i expected"}),
                RowFactory.create("b", "two plus two is", new Object[] {"four", "five"}),
                RowFactory.create("g", "write a word", null),
                RowFactory.create("dup", "x", new Object[] {"same", "same"}));
        Map<String, Row> out = byId(run(rows));
        assertEquals(4, out.size());
        assertScoredAsTheEngineAlone(out.get("a"), "the film was", List.of("good", "bad", "not what i expected"));
        assertScoredAsTheEngineAlone(out.get("b"), "two plus two is", List.of("four", "five"));
        Row g = out.get("g");
        assertTrue(g.isNullAt(g.fieldIndex("label")) && g.isNullAt(g.fieldIndex("label_logprobs")), g.toString());
        assertTrue(g.<Integer>getAs("completion_tokens") > 0);
        assertTrue(((String) out.get("dup").getAs("error")).contains("\"same\" is given twice"));
    }

    @Test
    void theLabelsFlagIsTheDefaultOfRowsWithoutACell() {
        List<Row> rows = List.of(RowFactory.create("d", "is the sky blue?", null),
                RowFactory.create("own", "is the sky blue?", new Object[] {"perhaps"}));
        Map<String, Row> out = byId(run(rows, "--labels", "yes,no"));
        assertScoredAsTheEngineAlone(out.get("d"), "is the sky blue?", List.of("yes", "no"));
        assertScoredAsTheEngineAlone(out.get("own"), "is the sky blue?", List.of("perhaps"));
    }

    @Test
    void aBadLabelsFlagIsAUsageError() {
        String[] base = {"--input", "in", "--model", "m", "--output", "out"};
        JobOptions.UsageException dup = assertThrows(JobOptions.UsageException.class,
                () -> JobOptions.parse(concat(base, "--labels", "a,a")));
        assertTrue(dup.getMessage().contains("--labels") && dup.getMessage().contains("given twice"),
                dup.getMessage());
        JobOptions.UsageException both = assertThrows(JobOptions.UsageException.class,
                () -> JobOptions.parse(concat(base, "--labels", "a,b", "--response-format", "{\"type\":\"json_object\"}")));
        assertTrue(both.getMessage().contains("--labels cannot be combined with --response-format"), both.getMessage());
        assertEquals(List.of("a", "b c"), JobOptions.parse(concat(base, "--labels", "a,b c")).labels());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
