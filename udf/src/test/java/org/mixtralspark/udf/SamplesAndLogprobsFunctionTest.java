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
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.Prompts;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * n samples per row and log-probabilities through the partition function (local[2], the real engine, the tiny model):
 * every cell equals what the engine alone gives for that row's request.
 */
class SamplesAndLogprobsFunctionTest {

    private static SparkSession spark;

    private static final StructType INPUT = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("n", DataTypes.IntegerType);

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
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

    private static ModelSpec spec() {
        return ModelSpec.of(TinyModels.tiny().toString()).withContextLength(64);
    }

    private static SamplingParams defaults() {
        return TinyModels.jobDefaults().temperature(1.0f).maxNewTokens(6).logprobs(3).n(2).build();
    }

    @Test
    void samplesAndLogprobsEqualTheEnginesOwnResultsForEachRow() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create("r" + i, "tell me " + i, i % 3 == 0 ? null : i));
        }
        rows.add(RowFactory.create("too-many", "hi", SamplingParams.MAX_N + 1));
        rows.add(RowFactory.create("zero", "hi", 0));
        Dataset<Row> in = spark.createDataFrame(rows, INPUT).repartition(2);
        long jobSeed = 17;
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, spec(), defaults(), jobSeed,
                3, false, GenerationColumns.GENERATION, null);
        Dataset<Row> out = fn.apply(in);
        assertEquals(GenerationColumns.SAMPLES_TYPE, out.schema().apply(GenerationColumns.SAMPLES).dataType());
        assertEquals(GenerationColumns.LOGPROBS_TYPE, out.schema().apply(GenerationColumns.LOGPROBS).dataType());
        Map<String, Row> byId = new HashMap<>();
        for (Row r : out.collectAsList()) {
            assertNull(byId.put(r.getString(0), r), "one output row per input row");
        }
        assertEquals(rows.size(), byId.size());

        try (Engine engine = Engines.open(TinyModels.tiny(), spec().engineOptions())) {
            for (int i = 0; i < 6; i++) {
                String id = "r" + i;
                int n = i % 3 == 0 ? 2 : i;
                SamplingParams p = defaults().toBuilder().n(n).seed(RowSeeds.derive(jobSeed, id)).build();
                List<GenerationResult> alone = engine.submitN(new GenerationRequest(id,
                        Prompts.fromText(engine, "tell me " + i), p)).join();
                Row row = byId.get(id);
                assertNull(row.getAs(GenerationColumns.ERROR), id);
                List<Row> samples = row.getList(row.fieldIndex(GenerationColumns.SAMPLES));
                assertEquals(n, samples.size(), id);
                for (int k = 0; k < n; k++) {
                    GenerationResult a = alone.get(k);
                    Row s = samples.get(k);
                    assertEquals(a.text(), s.getAs(GenerationColumns.GENERATION), id + " sample " + k);
                    assertEquals(a.finishReason().wireName(), s.getAs(GenerationColumns.FINISH_REASON));
                    assertEquals(a.tokenIds().length, (int) s.getAs(GenerationColumns.COMPLETION_TOKENS));
                }
                assertEquals(alone.get(0).text(), row.getAs(GenerationColumns.GENERATION), "generation is sample 0");
                assertEquals(alone.get(0).tokenIds().length, (int) row.getAs(GenerationColumns.COMPLETION_TOKENS));
                assertLogprobs(engine, alone.get(0).logprobs(), row.getList(row.fieldIndex(GenerationColumns.LOGPROBS)),
                        id);
            }
        }
        for (String bad : List.of("too-many", "zero")) {
            Row r = byId.get(bad);
            assertEquals("error", r.getAs(GenerationColumns.FINISH_REASON));
            assertTrue(((String) r.getAs(GenerationColumns.ERROR)).contains("n = "), r.toString());
            assertTrue(r.isNullAt(r.fieldIndex(GenerationColumns.SAMPLES)));
            assertTrue(r.isNullAt(r.fieldIndex(GenerationColumns.LOGPROBS)));
        }
    }

    private static void assertLogprobs(Engine engine, List<TokenLogprob> expected, List<Row> got, String id) {
        assertFalse(expected.isEmpty(), "the engine reports log-probabilities when asked");
        assertEquals(expected.size(), got.size(), id);
        for (int t = 0; t < expected.size(); t++) {
            TokenLogprob e = expected.get(t);
            Row g = got.get(t);
            assertEquals(e.tokenId(), (int) g.getAs("token_id"), id + " token " + t);
            assertEquals(engine.tokenizer().piece(e.tokenId()), g.getAs("token"));
            assertEquals((double) e.logprob(), (double) g.getAs("logprob"), 0.0, id + " token " + t);
            List<Row> top = g.getList(g.fieldIndex("top"));
            assertEquals(e.top().size(), top.size());
            assertEquals(3, top.size());
            for (int j = 0; j < top.size(); j++) {
                assertEquals(e.top().get(j).tokenId(), (int) top.get(j).getAs("token_id"));
                assertEquals((double) e.top().get(j).logprob(), (double) top.get(j).getAs("logprob"), 0.0);
                assertEquals(engine.tokenizer().piece(e.top().get(j).tokenId()), top.get(j).getAs("token"));
            }
        }
    }

    @Test
    void withoutNOrLogprobsTheOutputHasNeitherColumn() {
        Dataset<Row> in = spark.createDataFrame(List.of(RowFactory.create("a", "hi")),
                new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType));
        GenerateFunction fn = new GenerateFunction(in.schema(), "id", "prompt", null, spec(),
                TinyModels.jobDefaults().maxNewTokens(3).build(), 1L, 3, false, GenerationColumns.GENERATION, null);
        List<String> names = List.of(fn.outputSchema().fieldNames());
        assertFalse(names.contains(GenerationColumns.SAMPLES), names.toString());
        assertFalse(names.contains(GenerationColumns.LOGPROBS), names.toString());
        assertEquals(1, fn.apply(in).collectAsList().size());
    }
}
