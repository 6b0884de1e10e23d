package org.mixtralspark.udf;

import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Params, transform (against the engine alone, on a tiny real model), persistence and rejected configurations, as
 * Spark's own Transformer suites test them.
 */
class MixtralGeneratorTest {

    private static SparkSession spark;
    private static String model;

    private static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType)
            .add("text", DataTypes.StringType)
            .add("expected", DataTypes.StringType);

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    /** Rows whose "expected" column is what the engine alone generates for "text" (greedy, 6 tokens). */
    private static Dataset<Row> withExpected(Map<Integer, String> texts) {
        Map<String, String> prompts = new LinkedHashMap<>();
        texts.forEach((id, t) -> prompts.put(id.toString(), t));
        Map<String, String> alone = TinyModels.engineAlone(TinyModels.tiny(), EngineOptions.defaults(), prompts,
                TinyModels.jobDefaults().maxNewTokens(6).build(), null);
        List<Row> rows = new ArrayList<>();
        texts.forEach((id, t) -> rows.add(RowFactory.create(id, t, alone.get(id.toString()))));
        return spark.createDataFrame(rows, SCHEMA);
    }

    @Test
    void paramsHaveDocsDefaultsAndValidators() {
        MixtralGenerator g = new MixtralGenerator();
        assertTrue(g.uid().startsWith("mixtralGenerator_"));
        for (Param<?> p : g.params()) {
            assertFalse(p.doc().isBlank(), p.name());
            assertEquals(g.uid(), p.parent());
        }
        assertEquals(List.of("batchSize", "device", "idCol", "inputCol", "kvType", "labels", "logprobs", "maxBatchSize",
                "maxNewTokens", "messagesCol", "model", "n", "outputCol", "prefixCache", "responseFormat", "seed", "temperature", "threads", "topK", "topP",
                "weightMemory"),
                Arrays.stream(g.params()).map(Param::name).sorted().toList());
        assertEquals("id", g.getIdCol());
        assertEquals("prompt", g.getInputCol());
        assertEquals("generation", g.getOutputCol());
        assertEquals(64, g.getMaxNewTokens());
        assertEquals(0.0, g.getTemperature());
        assertFalse(g.isDefined(g.seed()), "no job seed unless set");

        assertThrows(IllegalArgumentException.class, () -> g.setTemperature(-0.5));
        assertThrows(IllegalArgumentException.class, () -> g.setTopP(0));
        assertThrows(IllegalArgumentException.class, () -> g.setTopP(1.5));
        assertThrows(IllegalArgumentException.class, () -> g.setMaxNewTokens(0));
        assertThrows(IllegalArgumentException.class, () -> g.setTopK(-1));
        assertThrows(IllegalArgumentException.class, () -> g.setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> g.setDevice("tpu"));
        assertEquals("cuda:1", g.setDevice("cuda:1").getDevice());
        g.setDevice("auto");
        assertEquals("mapped", g.getWeightMemory(), "DESIGN §5: mapped by default");
        assertThrows(IllegalArgumentException.class, () -> g.setWeightMemory("disk"));
        assertTrue(g.getPrefixCache(), "issue 10: prefix caching is on by default");
        assertEquals("f16", g.getKvType(), "issue 10: f16 KV by default");
        assertThrows(IllegalArgumentException.class, () -> g.setKvType("f8"));
        assertThrows(IllegalArgumentException.class, () -> g.setInputCol(" "));
        assertEquals("", g.getResponseFormat(), "issue 11: free text unless a format is set");
        IllegalArgumentException badFormat = assertThrows(IllegalArgumentException.class,
                () -> g.setResponseFormat("{\"type\":\"json_schema\",\"schema\":{\"not\":{}}}"));
        assertTrue(badFormat.getMessage().startsWith("MixtralGenerator responseFormat: ")
                && badFormat.getMessage().contains("'not'"), badFormat.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.setResponseFormat("{\"type\":"));
        assertEquals("", g.getResponseFormat(), "a rejected value leaves the Param as it was");
        assertEquals(1, g.getN(), "issue 11: one sample per row by default");
        assertEquals(0, g.getLogprobs(), "issue 11: no logprobs by default");
        assertThrows(IllegalArgumentException.class, () -> g.setN(0));
        assertThrows(IllegalArgumentException.class, () -> g.setN(65));
        assertThrows(IllegalArgumentException.class, () -> g.setLogprobs(-1));
        assertThrows(IllegalArgumentException.class, () -> g.setLogprobs(21));

        MixtralGenerator copy = g.setSeed(5).setTemperature(0.3).copy(new org.apache.spark.ml.param.ParamMap());
        assertEquals(g.uid(), copy.uid());
        assertEquals(5L, copy.getSeed());
        assertEquals(0.3, copy.getTemperature());
    }

    @Test
    void transformAppendsTheGenerationColumns() {
        Map<Integer, String> texts = new LinkedHashMap<>();
        texts.put(1, "abc");
        texts.put(2, "hello world");
        texts.put(3, "a third prompt");
        Dataset<Row> in = withExpected(texts).union(spark.createDataFrame(List.of(RowFactory.create(4, "", "")),
                SCHEMA));
        MixtralGenerator g = new MixtralGenerator().setModel(model).setInputCol("text")
                .setOutputCol("completion").setMaxNewTokens(6).setBatchSize(2);
        Dataset<Row> out = g.transform(in);
        assertEquals(g.transformSchema(in.schema()), out.schema());
        assertEquals(List.of("id", "text", "expected", "completion", "finish_reason", "prompt_tokens",
                "completion_tokens", "cached_prompt_tokens", "error", "latency_ms", "model", "max_new_tokens",
                "temperature", "top_p", "top_k", "seed", "stop", "label", "label_logprobs"), List.of(out.columns()));
        List<Row> rows = out.collectAsList();
        assertEquals(4, rows.size());
        for (Row r : rows) {
            assertEquals(r.<String>getAs("expected"), r.getAs("completion"), r.toString());
            assertEquals(r.<String>getAs("text").isEmpty(), "error".equals(r.getAs("finish_reason")), r.toString());
        }
    }

    @Test
    void nAndLogprobsParamsAddTheSamplesAndLogprobsColumns() {
        Map<Integer, String> texts = new LinkedHashMap<>();
        texts.put(1, "abc");
        texts.put(2, "hello world");
        Dataset<Row> in = withExpected(texts);
        MixtralGenerator g = new MixtralGenerator().setModel(model).setInputCol("text").setOutputCol("completion")
                .setMaxNewTokens(5).setTemperature(1.0).setSeed(3).setN(3).setLogprobs(2);
        Dataset<Row> out = g.transform(in);
        assertEquals(g.transformSchema(in.schema()), out.schema());
        List<String> columns = List.of(out.columns());
        assertEquals(List.of("samples", "logprobs"), columns.subList(columns.size() - 2, columns.size()));
        for (Row r : out.collectAsList()) {
            List<Row> samples = r.getList(r.fieldIndex("samples"));
            assertEquals(3, samples.size(), r.toString());
            assertEquals(r.<String>getAs("completion"), samples.get(0).getAs("generation"), "the column is sample 0");
            List<Row> logprobs = r.getList(r.fieldIndex("logprobs"));
            assertEquals((int) r.getAs("completion_tokens"), logprobs.size(), "one entry per generated token");
            logprobs.forEach(t -> assertEquals(2, t.getList(t.fieldIndex("top")).size()));
        }
        // sample 0 is what n = 1 gives
        Dataset<Row> single = new MixtralGenerator().setModel(model).setInputCol("text").setOutputCol("completion")
                .setMaxNewTokens(5).setTemperature(1.0).setSeed(3).transform(in);
        assertFalse(List.of(single.columns()).contains("samples"));
        Map<Integer, String> one = new LinkedHashMap<>();
        single.collectAsList().forEach(r -> one.put(r.getAs("id"), r.getAs("completion")));
        out.collectAsList().forEach(r -> assertEquals(one.get(r.<Integer>getAs("id")), r.getAs("completion")));
    }

    private static final String CHOICE = "{\"type\":\"choice\",\"choices\":[\"yes\",\"no\",\"maybe\"]}";

    @Test
    void responseFormatParamAndColumnShapeTheRows() {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType)
                .add("response_format", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create(i, "question " + i, null));
        }
        rows.add(RowFactory.create(6, "digits", "{\"type\":\"regex\",\"pattern\":\"[0-9]{2}\"}"));
        rows.add(RowFactory.create(7, "bad", "{\"type\":\"choice\",\"choices\":[]}"));
        MixtralGenerator g = new MixtralGenerator().setModel(model).setInputCol("text").setMaxNewTokens(16)
                .setTemperature(1).setSeed(3).setResponseFormat(CHOICE);
        for (Row r : g.transform(spark.createDataFrame(rows, schema)).collectAsList()) {
            int id = r.getAs("id");
            String gen = r.getAs("generation");
            if (id == 7) {
                assertEquals("error", r.getAs("finish_reason"));
                String error = r.getAs("error");
                assertTrue(error.contains("response_format choice needs \"choices\""), error);
            } else {
                assertEquals("stop", r.getAs("finish_reason"), r.toString());
                assertTrue(id == 6 ? gen.matches("[0-9]{2}") : List.of("yes", "no", "maybe").contains(gen),
                        r.toString());
            }
        }
        StructType wrongType = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType)
                .add("response_format", DataTypes.IntegerType);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.transformSchema(wrongType));
        assertEquals("column response_format has type int: it must be a string (a response_format JSON text)",
                e.getMessage());
    }

    @Test
    void saveAndLoadKeepTheParams(@TempDir Path dir) throws Exception {
        MixtralGenerator g = new MixtralGenerator().setModel("/models/x.gguf").setInputCol("text").setSeed(99)
                .setTemperature(0.8).setTopK(40).setDevice("cpu").setWeightMemory("heap").setPrefixCache(false)
                .setKvType("f32").setResponseFormat(CHOICE).setN(4).setLogprobs(2);
        String path = dir.resolve("gen").toString();
        g.save(path);
        MixtralGenerator back = MixtralGenerator.load(path);
        assertEquals(g.uid(), back.uid());
        assertEquals("/models/x.gguf", back.getModel());
        assertEquals("text", back.getInputCol());
        assertEquals(99L, back.getSeed());
        assertEquals(0.8, back.getTemperature());
        assertEquals(40, back.getTopK());
        assertEquals("cpu", back.getDevice());
        assertEquals("heap", back.getWeightMemory());
        assertFalse(back.getPrefixCache());
        assertEquals("f32", back.getKvType());
        assertEquals(CHOICE, back.getResponseFormat());
        assertEquals(4, back.getN());
        assertEquals(2, back.getLogprobs());

        // Inside a Pipeline too.
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {
            new MixtralGenerator().setModel(model).setInputCol("text").setMaxNewTokens(6)})
                .fit(spark.createDataFrame(List.of(RowFactory.create(1, "x", "X")), SCHEMA));
        fitted.write().overwrite().save(dir.resolve("pipeline").toString());
        PipelineModel loaded = PipelineModel.load(dir.resolve("pipeline").toString());
        Row r = loaded.transform(withExpected(Map.of(7, "pipe"))).first();
        assertEquals(r.<String>getAs("expected"), r.getAs("generation"));
    }

    @Test
    void rejectsBadConfigurationsNamingTheColumn() {
        MixtralGenerator g = new MixtralGenerator().setInputCol("text");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.transformSchema(SCHEMA));
        assertTrue(e.getMessage().startsWith("model is not set"), e.getMessage());

        g.setModel("m");
        e = assertThrows(IllegalArgumentException.class, () -> g.setInputCol("missing").transformSchema(SCHEMA));
        assertTrue(e.getMessage().startsWith("prompt column missing is not in the input"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> g.setInputCol("id").transformSchema(SCHEMA));
        assertEquals("column id has type int: it must be a string", e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> g.setInputCol("text").setOutputCol("expected").transformSchema(SCHEMA));
        assertEquals("output column expected already exists in the input: rename or drop the input column first",
                e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> g.setOutputCol("generation").setMessagesCol("text").setIdCol("nope").transformSchema(SCHEMA));
        assertTrue(e.getMessage().startsWith("id column nope is not in the input"), e.getMessage());
    }
}
