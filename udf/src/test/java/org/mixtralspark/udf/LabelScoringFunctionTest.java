package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.LabelScores;
import org.mixtralspark.engine.serving.Prompts;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Label scoring through the partition function and the Transformer in local mode: a {@code labels} column (or the
 * default labels) makes a row score instead of generating; its {@code label} and {@code label_logprobs} are what the
 * engine alone gives for that prompt and those labels; generating rows have nulls there; a bad list is an error row.
 */
class LabelScoringFunctionTest {

    private static SparkSession spark;
    private static String model;

    private static final StructType INPUT = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("labels", DataTypes.createArrayType(DataTypes.StringType, true));

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    @AfterEach
    void noArrowMemoryLeftBehind() throws InterruptedException {
        BufferAllocator root = ExecutorEngines.allocator();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!root.getChildAllocators().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(0, root.getAllocatedMemory(), "Arrow memory still allocated after the job");
    }

    /** label → log-probability, as the engine alone scores {@code labels} after {@code prompt}. */
    private static Map<String, Double> engineAlone(String prompt, List<String> labels) {
        try (Engine e = Engines.open(Path.of(model), ModelSpec.of(model).options())) {
            LabelScores s = e.submit(new GenerationRequest("x", Prompts.fromText(e, prompt), SamplingParams.defaults())
                    .withLabels(Prompts.labels(e, labels, false))).join().labelScores();
            Map<String, Double> m = new HashMap<>();
            for (LabelScores.Label l : s.labels()) {
                m.put(l.label(), l.logprob());
            }
            m.put("\u0000best", (double) labels.indexOf(s.best()));
            return m;
        }
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            m.put(r.getString(r.fieldIndex("id")), r);
        }
        return m;
    }

    private static void assertScores(Row r, String prompt, List<String> labels) {
        Map<String, Double> expected = engineAlone(prompt, labels);
        assertTrue(r.isNullAt(r.fieldIndex("error")), "row " + r);
        Map<String, Double> got = r.getJavaMap(r.fieldIndex("label_logprobs"));
        assertEquals(labels.size(), got.size());
        for (String l : labels) {
            assertEquals(expected.get(l), got.get(l), "label " + l + ": bit for bit the engine's");
        }
        assertEquals(labels.get(expected.get("\u0000best").intValue()), r.<String>getAs("label"));
        assertEquals(r.<String>getAs("label"), r.<String>getAs("generation"), "the generation is the best label");
        assertEquals(0, (int) r.getAs("completion_tokens"));
    }

    @Test
    void rowsWithLabelsScoreThemAndTheOthersGenerate() {
        List<String> weather = List.of("sunny", "rainy", "very cold");
        List<Row> rows = List.of(
                RowFactory.create("s1", "the weather today is", weather.toArray()),
                RowFactory.create("s2", "once upon a time", new Object[] {"there", "the end"}),
                RowFactory.create("g", "hello", null),
                RowFactory.create("empty", "hello", new Object[0]),
                RowFactory.create("dup", "hello", new Object[] {"a", "a"}),
                RowFactory.create("null-label", "hello", new Object[] {"a", null}));
        Dataset<Row> in = spark.createDataFrame(rows, INPUT).repartition(2);
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, ModelSpec.of(model),
                TinyModels.jobDefaults().maxNewTokens(4).build(), null, 3, false, GenerationColumns.GENERATION, null);
        assertEquals(DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false),
                fn.outputSchema().apply("label_logprobs").dataType());
        Map<String, Row> out = byId(fn.apply(in).collectAsList());
        assertEquals(rows.size(), out.size());
        assertScores(out.get("s1"), "the weather today is", weather);
        assertScores(out.get("s2"), "once upon a time", List.of("there", "the end"));
        Row g = out.get("g");
        assertEquals("length", g.getAs("finish_reason"));
        assertTrue(g.isNullAt(g.fieldIndex("label")) && g.isNullAt(g.fieldIndex("label_logprobs")));
        assertTrue(((String) out.get("empty").getAs("error")).contains("the list is empty"));
        assertTrue(((String) out.get("dup").getAs("error")).contains("\"a\" is given twice"));
        assertTrue(((String) out.get("null-label").getAs("error")).contains("label 1 is null"));
        assertTrue(out.get("dup").isNullAt(out.get("dup").fieldIndex("label_logprobs")));
    }

    @Test
    void theDefaultLabelsScoreRowsWithoutALabelsCell() {
        List<Row> rows = List.of(RowFactory.create("d", "is it raining?", null),
                RowFactory.create("own", "is it raining?", new Object[] {"maybe"}));
        Dataset<Row> in = spark.createDataFrame(rows, INPUT);
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, ModelSpec.of(model),
                TinyModels.jobDefaults().build(), null, 8, false, GenerationColumns.GENERATION, null)
                .withDefaultLabels(List.of("yes", "no"));
        Map<String, Row> out = byId(fn.apply(in).collectAsList());
        assertScores(out.get("d"), "is it raining?", List.of("yes", "no"));
        assertScores(out.get("own"), "is it raining?", List.of("maybe"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> fn.withDefaultLabels(List.of("yes", "yes")));
        assertTrue(bad.getMessage().contains("given twice"), bad.getMessage());
    }

    @Test
    void theTransformersLabelsParamScoresRowsAndSurvivesSaveAndLoad(@TempDir Path tmp) throws Exception {
        Dataset<Row> in = spark.createDataFrame(List.of(RowFactory.create("t", "the sky is")),
                new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType));
        MixtralGenerator gen = new MixtralGenerator().setModel(model).setInputCol("prompt")
                .setLabels(new String[] {"blue", "green"});
        gen.save(tmp.resolve("g").toString());
        MixtralGenerator loaded = MixtralGenerator.load(tmp.resolve("g").toString());
        assertArrayEquals(new String[] {"blue", "green"}, loaded.getLabels());
        Row r = loaded.transform(in).collectAsList().get(0);
        assertEquals("the sky is", r.getAs("prompt"), "the Transformer keeps the input's columns");
        assertScores(r, "the sky is", List.of("blue", "green"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> new MixtralGenerator().setLabels(new String[] {"x", ""}));
        assertTrue(bad.getMessage().contains("labels") && bad.getMessage().contains("empty"), bad.getMessage());
        Row plain = new MixtralGenerator().setModel(model).setInputCol("prompt").setMaxNewTokens(2).transform(in)
                .collectAsList().get(0);
        assertNull(plain.getAs("label"));
    }
}
