package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.udf.testing.EchoEngine;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.nio.file.Path;
import java.util.LinkedHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The partition function in local[2] on the real engine and a tiny random-weight model; one test (an engine that
 * fails a request) on the test-only {@link EchoEngine}, since the real one cannot be made to.
 */
class GenerateFunctionTest {

    private static SparkSession spark;
    private static String model;

    private static final StructType PROMPTS = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("temperature", DataTypes.DoubleType)
            .add("max_new_tokens", DataTypes.IntegerType)
            .add("top_p", DataTypes.StringType);

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    @AfterEach
    void noArrowMemoryLeftBehind() throws InterruptedException {
        BufferAllocator root = ExecutorEngines.allocator();
        // A failed job returns while Spark is still killing its other tasks (asynchronously); their completion
        // listeners close their allocators when they end. Wait for that, then check.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while ((!root.getChildAllocators().isEmpty()
                || spark.sparkContext().statusTracker().getActiveStageIds().length > 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(0, root.getAllocatedMemory(), "Arrow memory still allocated after the job");
        assertEquals(0, root.getChildAllocators().size(), "task allocators left open: " + root.getChildAllocators());
    }

    /** The tiny model with a short context, so that "too long" is easy to reach. */
    private static ModelSpec spec() {
        return ModelSpec.of(model).withContextLength(64);
    }

    private static Dataset<Row> generate(Dataset<Row> in, SamplingParams d, Long jobSeed, int batch) {
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, spec(), d, jobSeed,
                batch, false, GenerationColumns.GENERATION, null);
        return fn.apply(in);
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            assertNull(m.put(r.getString(0), r), "two output rows for id " + r.getString(0));
        }
        return m;
    }

    @Test
    void everyInputRowGetsExactlyOneOutputRowAndBadRowsBecomeErrorRows() {
        List<Row> rows = new ArrayList<>();
        Map<String, String> okPrompts = new LinkedHashMap<>();
        for (int i = 0; i < 30; i++) {
            rows.add(RowFactory.create("ok-" + i, "hello " + i, null, null, null));
            okPrompts.put("ok-" + i, "hello " + i);
        }
        rows.add(RowFactory.create("null-prompt", null, null, null, null));
        rows.add(RowFactory.create("empty-prompt", "  ", null, null, null));
        rows.add(RowFactory.create("too-long", TinyModels.promptsOfTokenCounts(TinyModels.tiny(), 70).get(70), null,
                null, null));
        rows.add(RowFactory.create("much-too-long", "the quick brown fox jumps over the lazy dog ".repeat(20), null,
                null, null));
        rows.add(RowFactory.create("huge", "All work and no play makes Jack a dull boy. ".repeat(113_637), null, null,
                null));
        rows.add(RowFactory.create("neg-temp", "hi", -1.0, null, null));
        rows.add(RowFactory.create("zero-max", "hi", null, 0, null));
        rows.add(RowFactory.create("top-p-text", "hi", null, null, "abc"));
        rows.add(RowFactory.create(null, "no id", null, null, null));
        Dataset<Row> in = spark.createDataFrame(rows, PROMPTS).repartition(3);
        SamplingParams defaults = TinyModels.jobDefaults().maxNewTokens(8).build();

        List<Row> out = generate(in, defaults, null, 4).collectAsList();

        assertEquals(rows.size(), out.size());
        Map<String, Row> m = byId(out);
        Map<String, String> alone = TinyModels.engineAlone(TinyModels.tiny(), spec().engineOptions(), okPrompts,
                defaults, null);
        for (String id : okPrompts.keySet()) {
            Row ok = m.get(id);
            assertNull(ok.getAs("error"), id);
            assertTrue(List.of("stop", "length").contains((String) ok.getAs("finish_reason")), id);
            assertTrue((int) ok.getAs("prompt_tokens") > 0, id);
            assertTrue((int) ok.getAs("completion_tokens") <= 8, id);
            assertEquals(alone.get(id), ok.getAs("generation"), "the engine alone says the same for " + id);
            assertEquals(model, ok.getAs("model"));
            assertEquals(8, (int) ok.getAs("max_new_tokens"));
            assertEquals(0.0, (double) ok.getAs("temperature"));
        }
        assertError(m.get("null-prompt"), "the prompt is null");
        assertError(m.get("empty-prompt"), "the prompt is empty");
        assertError(m.get("too-long"), "tokens, but the context length is 64");
        // a prompt that was tokenized reports its true count; one rejected by the character bound before tokenizing
        // says "at least" and leaves the count unknown (null), never 0
        assertEquals(70, (int) m.get("too-long").getAs("prompt_tokens"));
        assertError(m.get("too-long"), "the prompt has 70 tokens, but the context length is 64");
        assertError(m.get("much-too-long"), "the prompt has at least ");
        assertNull(m.get("much-too-long").getAs("prompt_tokens"));
        assertError(m.get("huge"), "the prompt has at least ");
        assertError(m.get("huge"), "5000028 bytes of text");
        assertNull(m.get("huge").getAs("prompt_tokens"));
        assertNull(m.get("null-prompt").getAs("prompt_tokens"));
        assertNull(m.get("neg-temp").getAs("prompt_tokens"));
        assertError(m.get("neg-temp"), "bad parameter: temperature = -1.0: must be >= 0");
        assertEquals(-1.0, (double) m.get("neg-temp").getAs("temperature"));
        assertError(m.get("zero-max"), "bad parameter: max_new_tokens = 0: must be >= 1");
        assertError(m.get("top-p-text"), "bad parameter: top_p = \"abc\": not a number");
        assertError(m.get(null), "the id is null");
    }

    @Test
    void theContextLengthRuleIsTheEnginesOnBothSidesOfTheBoundary() {
        // The rule (ContextLimit): prompt >= context is an error row giving both counts; anything shorter runs and
        // is cut at the context with "length", even when prompt + max_new_tokens is more than the context.
        Map<Integer, String> texts = TinyModels.promptsOfTokenCounts(TinyModels.tiny(), 63, 64, 60);
        List<Row> rows = List.of(
                RowFactory.create("context-1", texts.get(63), null, null, null),
                RowFactory.create("context", texts.get(64), null, null, null),
                RowFactory.create("over", texts.get(60), null, null, null));
        SamplingParams defaults = TinyModels.jobDefaults().maxNewTokens(8).ignoreEos(true).build();
        Map<String, Row> m = byId(generate(spark.createDataFrame(rows, PROMPTS), defaults, null, 4).collectAsList());

        Row oneLeft = m.get("context-1");
        assertNull(oneLeft.getAs("error"), oneLeft::toString);
        assertEquals("length", oneLeft.getAs("finish_reason"));
        assertEquals(63, (int) oneLeft.getAs("prompt_tokens"));
        assertEquals(1, (int) oneLeft.getAs("completion_tokens"));
        assertError(m.get("context"), "the prompt has 64 tokens, but the context length is 64");
        Row over = m.get("over");
        assertNull(over.getAs("error"), over::toString);
        assertEquals("length", over.getAs("finish_reason"));
        assertEquals(4, (int) over.getAs("completion_tokens"), "cut where 60 + 4 fill the context of 64");

        // the engine alone, given the same prompts, says the same
        Map<String, String> prompts = new LinkedHashMap<>();
        prompts.put("context-1", texts.get(63));
        prompts.put("over", texts.get(60));
        Map<String, String> alone = TinyModels.engineAlone(TinyModels.tiny(), spec().engineOptions(), prompts,
                defaults, null);
        assertEquals(alone.get("context-1"), oneLeft.getAs("generation"));
        assertEquals(alone.get("over"), over.getAs("generation"));
    }

    @Test
    void anEngineThatFailsARequestGivesAnErrorRow() throws Exception {
        // The real engine cannot be made to fail one request on purpose; the echo engine can.
        try (AutoCloseable echo = ExecutorEngines.useFactoryForTests(s -> new EchoEngine(Path.of(s.path())))) {
            Dataset<Row> in = spark.createDataFrame(List.of(RowFactory.create("a", "fine", null, null, null),
                    RowFactory.create("b", "FAIL_ENGINE", null, null, null)), PROMPTS);
            GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, ModelSpec.of("echo"),
                    TinyModels.jobDefaults().build(), null, 4, false, GenerationColumns.GENERATION, null);
            Map<String, Row> m = byId(fn.apply(in).collectAsList());
            assertEquals("FINE", m.get("a").getAs("generation"));
            assertError(m.get("b"), "echo engine: asked to fail");
        }
    }

    private static void assertError(Row r, String expected) {
        assertEquals("error", r.getAs("finish_reason"), () -> "row " + r);
        assertTrue(((String) r.getAs("error")).contains(expected), () -> "error of " + r + " should say " + expected);
        assertEquals("", r.getAs("generation"));
        assertEquals(0, (int) r.getAs("completion_tokens"));
    }

    @Test
    void oneEnginePerJvmSharedByConcurrentTasks() {
        int before = ExecutorEngines.loads();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            rows.add(RowFactory.create("r" + i, "prompt number " + i, null, null, null));
        }
        Dataset<Row> in = spark.createDataFrame(rows, PROMPTS).repartition(6);
        GenerationMetrics metrics = GenerationMetrics.register(spark.sparkContext());
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null,
                ModelSpec.of(model).withMaxBatchSize(16), TinyModels.jobDefaults().maxNewTokens(4).build(), null, 5,
                false,
                GenerationColumns.GENERATION, metrics);
        assertEquals(200, fn.apply(in).count());
        assertEquals(200, fn.apply(in).count());

        assertEquals(before + 1, ExecutorEngines.loads(), "the second job and every task reuse the engine");
        assertEquals(400, metrics.rows());
        assertEquals(400, metrics.ok());
        assertEquals(Map.of("driver", ExecutorEngines.loads()), metrics.engineLoadsPerExecutor());
    }

    @Test
    void sameSeedSameOutputWhateverThePartitioning() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(RowFactory.create("id-" + i, "p" + i, null, null, null));
        }
        SamplingParams d = TinyModels.jobDefaults().temperature(0.9f).maxNewTokens(8).build();
        Map<String, Row> two = byId(generate(spark.createDataFrame(rows, PROMPTS).repartition(2), d, 1234L, 3)
                .collectAsList());
        Map<String, Row> five = byId(generate(spark.createDataFrame(rows, PROMPTS).repartition(5), d, 1234L, 7)
                .collectAsList());
        for (int i = 0; i < 40; i++) {
            String id = "id-" + i;
            assertEquals((String) two.get(id).getAs("generation"), five.get(id).getAs("generation"), id);
            assertEquals(RowSeeds.derive(1234L, id), (long) two.get(id).getAs("seed"));
        }
        assertNotEquals((String) two.get("id-0").getAs("generation"), two.get("id-1").getAs("generation"));
    }

    @Test
    void perRowSeedAndStopColumnsOverrideTheDefaults() {
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("seed", DataTypes.LongType)
                .add("stop", DataTypes.createArrayType(DataTypes.StringType))
                .add("top_k", DataTypes.IntegerType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            rows.add(RowFactory.create("s" + i, "stop test " + i, i % 2 == 0 ? 77L : null,
                    i % 3 == 0 ? List.of("w", "v") : null, i == 11 ? -4 : null));
        }
        SamplingParams d = TinyModels.jobDefaults().temperature(1.0f).maxNewTokens(16).build();
        GenerateFunction fn = new GenerateFunction(schema, "id", "prompt", null, spec(), d, 3L, 4, false,
                GenerationColumns.GENERATION, null);
        Dataset<Row> in = spark.createDataFrame(rows, schema);
        Map<String, Row> m = byId(fn.apply(in).collectAsList());
        for (int i = 0; i < 11; i++) {
            Row r = m.get("s" + i);
            assertNull(r.getAs("error"), r.toString());
            assertEquals(i % 2 == 0 ? 77L : RowSeeds.derive(3L, "s" + i), (long) r.getAs("seed"), "s" + i);
            if (i % 3 == 0) {
                assertEquals(List.of("w", "v"), r.getList(r.fieldIndex("stop")));
                String text = r.getAs("generation");
                assertTrue(!text.contains("w") && !text.contains("v"), "text ends before a stop string: " + text);
            } else {
                assertEquals(List.of(), r.getList(r.fieldIndex("stop")));
            }
        }
        assertError(m.get("s11"), "bad parameter: top_k = -4: must be >= 0");
    }

    @Test
    void badNumbersInParameterColumnsSayWhatIsWrong() {
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("max_new_tokens", DataTypes.DoubleType)
                .add("top_k", DataTypes.StringType)
                .add("seed", DataTypes.StringType)
                .add("temperature", DataTypes.StringType);
        Map<String, Object[]> cells = new LinkedHashMap<>();
        Map<String, String> expected = new LinkedHashMap<>();
        cells.put("huge-max", new Object[] {1e12, null, null, null});
        expected.put("huge-max", "max_new_tokens = 1.0E12: out of range: must be a whole number in [1, 2147483647]");
        cells.put("half-max", new Object[] {2.5, null, null, null});
        expected.put("half-max", "max_new_tokens = 2.5: must be a whole number");
        cells.put("nan-max", new Object[] {Double.NaN, null, null, null});
        expected.put("nan-max", "max_new_tokens = NaN: not a finite number");
        cells.put("zero-max", new Object[] {0.0, null, null, null});
        expected.put("zero-max", "max_new_tokens = 0: must be >= 1");
        cells.put("huge-k", new Object[] {null, "1e10", null, null});
        expected.put("huge-k", "top_k = 1e10: out of range: must be a whole number in [0, 2147483647]");
        cells.put("text-k", new Object[] {null, "ten", null, null});
        expected.put("text-k", "top_k = \"ten\": not a number");
        cells.put("huge-seed", new Object[] {null, null, "1e30", null});
        expected.put("huge-seed", "seed = 1e30: out of range: must be a whole number in [-9223372036854775808, "
                + "9223372036854775807]");
        cells.put("half-seed", new Object[] {null, null, "0.5", null});
        expected.put("half-seed", "seed = 0.5: must be a whole number");
        cells.put("huge-temp", new Object[] {null, null, null, "1e39"});
        expected.put("huge-temp", "temperature = 1e39: out of range: must be a number in [-3.4028235E38, "
                + "3.4028235E38]");
        cells.put("inf-temp", new Object[] {null, null, null, "inf"});
        expected.put("inf-temp", "temperature = inf: not a finite number");
        List<Row> rows = new ArrayList<>();
        cells.forEach((id, c) -> rows.add(RowFactory.create(id, "hi", c[0], c[1], c[2], c[3])));
        rows.add(RowFactory.create("whole", "hi", 3.0, "2", "42", "0.5"));
        SamplingParams d = TinyModels.jobDefaults().maxNewTokens(4).build();
        GenerateFunction fn = new GenerateFunction(schema, "id", "prompt", null, spec(), d, 3L, 4, false,
                GenerationColumns.GENERATION, null);
        Map<String, Row> m = byId(fn.apply(spark.createDataFrame(rows, schema)).collectAsList());
        expected.forEach((id, message) -> assertError(m.get(id), "bad parameter: " + message));
        Row whole = m.get("whole");
        assertNull(whole.getAs("error"), whole::toString);
        assertEquals(3, (int) whole.getAs("max_new_tokens"));
        assertEquals(2, (int) whole.getAs("top_k"));
        assertEquals(42L, (long) whole.getAs("seed"));
        assertEquals(0.5, (double) whole.getAs("temperature"));
    }

    @Test
    void aRetriedTaskGivesTheSameRows() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            rows.add(RowFactory.create("t-" + i, "retry " + i, null, null, null));
        }
        SamplingParams d = TinyModels.jobDefaults().temperature(1.0f).maxNewTokens(6).build();
        Map<String, Row> once = byId(generate(spark.createDataFrame(rows, PROMPTS).repartition(3), d, 5L, 4)
                .collectAsList());
        // The first attempt of partition 1 dies after its rows were generated; Spark runs the task again.
        Dataset<Row> flaky = generate(spark.createDataFrame(rows, PROMPTS).repartition(3), d, 5L, 4)
                .map((org.apache.spark.api.java.function.MapFunction<Row, Row>) r -> {
                    org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
                    if (tc.partitionId() == 1 && tc.attemptNumber() == 0) {
                        throw new IllegalStateException("first attempt lost");
                    }
                    return r;
                }, Encoders.row(generate(spark.createDataFrame(rows, PROMPTS), d, 5L, 4).schema()));
        Map<String, Row> retried = byId(flaky.collectAsList());
        assertEquals(24, retried.size());
        for (String id : once.keySet()) {
            assertEquals((String) once.get(id).getAs("generation"), retried.get(id).getAs("generation"), id);
        }
    }

    @Test
    void chatMessagesAreRenderedWithTheTemplate() {
        StructType schema = new StructType()
                .add("id", DataTypes.LongType)
                .add("messages", DataTypes.createArrayType(new StructType()
                        .add("role", DataTypes.StringType).add("content", DataTypes.StringType)));
        List<Row> rows = List.of(
                RowFactory.create(1L, List.of(RowFactory.create("user", "hi there"))),
                RowFactory.create(2L, List.of(RowFactory.create("assistant", "wrong order"))),
                RowFactory.create(3L, List.of()),
                RowFactory.create(4L, null));
        Dataset<Row> in = spark.createDataFrame(rows, schema);
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", null, "messages", ModelSpec.of(model),
                TinyModels.jobDefaults().maxNewTokens(4).build(), null, 2, false, GenerationColumns.GENERATION, null);
        Map<Long, Row> m = new HashMap<>();
        for (Row r : fn.apply(in).collectAsList()) {
            m.put(r.getLong(0), r);
        }
        assertEquals(DataTypes.LongType, fn.outputSchema().fields()[0].dataType(), "the id keeps its type");
        assertNull(m.get(1L).getAs("error"), () -> m.get(1L).toString());
        int expected = TinyModels.chatPromptTokens(TinyModels.tiny(), "hi there");
        assertEquals(expected, (int) m.get(1L).getAs("prompt_tokens"), "the template's text, its <s> as BOS");
        assertError(m.get(2L), "the chat template rejected the messages:");
        assertTrue(((String) m.get(2L).getAs("error")).contains("roles must alternate"));
        assertError(m.get(3L), "the messages are empty");
        assertError(m.get(4L), "the messages are null");

        StructType json = new StructType().add("id", DataTypes.StringType).add("messages", DataTypes.StringType);
        Dataset<Row> j = spark.createDataFrame(List.of(
                RowFactory.create("a", "[{\"role\": \"user\", \"content\": \"yo\"}]"),
                RowFactory.create("b", "not json")), json);
        GenerateFunction fj = new GenerateFunction(j.schema(), "id", null, "messages", ModelSpec.of(model),
                TinyModels.jobDefaults().maxNewTokens(4).build(), null, 2, false, GenerationColumns.GENERATION, null);
        Map<String, Row> mj = byId(fj.apply(j).collectAsList());
        assertNull(mj.get("a").getAs("error"));
        assertEquals(TinyModels.chatPromptTokens(TinyModels.tiny(), "yo"), (int) mj.get("a").getAs("prompt_tokens"));
        assertError(mj.get("b"), "the messages are not a JSON array");
    }

    @Test
    void taskMemoryIsReleasedWhenATaskFailsOrStopsEarly() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            rows.add(RowFactory.create("f" + i, "text " + i, null, null, null));
        }
        Dataset<Row> out = generate(spark.createDataFrame(rows, PROMPTS).repartition(2),
                TinyModels.jobDefaults().maxNewTokens(4).build(), null, 4);
        // Stops reading after a few rows: the completion listener closes what the iterator left open.
        assertEquals(3, out.limit(3).collectAsList().size());
        // Fails downstream in the same task, with chunks still in the engine.
        Dataset<String> failing = out.map((org.apache.spark.api.java.function.MapFunction<Row, String>) r -> {
            if ("f17".equals(r.getString(0))) {
                throw new IllegalStateException("downstream failure");
            }
            return r.getString(0);
        }, Encoders.STRING());
        SparkException e = assertThrows(SparkException.class, failing::count);
        assertTrue(String.valueOf(e.getMessage()).contains("downstream failure"));
    }

    @Test
    void schemaProblemsAreReportedOnTheDriverWithTheColumnName() {
        StructType s = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.IntegerType);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GenerateFunction(s, "id",
                "prompt", null, ModelSpec.of("m"), TinyModels.jobDefaults().build(), null, 4, false, "generation", null));
        assertEquals("column prompt has type int: it must be a string", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new GenerateFunction(PROMPTS, "key", "prompt", null,
                ModelSpec.of("m"), TinyModels.jobDefaults().build(), null, 4, false, "generation", null));
        assertTrue(e.getMessage().startsWith("id column key is not in the input"));
        StructType badParam = PROMPTS.add("seed", DataTypes.BooleanType);
        e = assertThrows(IllegalArgumentException.class, () -> new GenerateFunction(badParam, "id", "prompt", null,
                ModelSpec.of("m"), TinyModels.jobDefaults().build(), null, 4, false, "generation", null));
        assertEquals("parameter column seed has type boolean: use a number", e.getMessage());
        GenerateFunction fn = new GenerateFunction(PROMPTS, "id", "prompt", null, ModelSpec.of("m"),
                TinyModels.jobDefaults().build(), null, 4, false, "generation", null);
        Dataset<Row> other = spark.createDataFrame(List.of(RowFactory.create("a", "b")),
                new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType));
        e = assertThrows(IllegalArgumentException.class, () -> fn.apply(other));
        assertTrue(e.getMessage().startsWith("the input's schema struct<id:string,prompt:string> is not the one"),
                e.getMessage());
    }
}
