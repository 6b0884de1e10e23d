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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.testing.EchoEngine;
import org.mixtralspark.udf.testing.TestSpark;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Params, transform, persistence and rejected configurations, as Spark's own Transformer suites test them. */
class MixtralGeneratorTest {

    private static SparkSession spark;
    private static AutoCloseable factory;

    private static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType)
            .add("text", DataTypes.StringType)
            .add("expected", DataTypes.StringType);

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        factory = ExecutorEngines.useFactoryForTests(spec -> new EchoEngine(Path.of(spec.path())));
    }

    @AfterAll
    static void stop() throws Exception {
        factory.close();
    }

    @Test
    void paramsHaveDocsDefaultsAndValidators() {
        MixtralGenerator g = new MixtralGenerator();
        assertTrue(g.uid().startsWith("mixtralGenerator_"));
        for (Param<?> p : g.params()) {
            assertFalse(p.doc().isBlank(), p.name());
            assertEquals(g.uid(), p.parent());
        }
        assertEquals(List.of("batchSize", "device", "idCol", "inputCol", "maxBatchSize", "maxNewTokens",
                "messagesCol", "model", "outputCol", "seed", "temperature", "threads", "topK", "topP"),
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
        assertThrows(IllegalArgumentException.class, () -> g.setInputCol(" "));

        MixtralGenerator copy = g.setSeed(5).setTemperature(0.3).copy(new org.apache.spark.ml.param.ParamMap());
        assertEquals(g.uid(), copy.uid());
        assertEquals(5L, copy.getSeed());
        assertEquals(0.3, copy.getTemperature());
    }

    @Test
    void transformAppendsTheGenerationColumns() {
        Dataset<Row> in = spark.createDataFrame(List.of(
                RowFactory.create(1, "abc", "ABC"),
                RowFactory.create(2, "hello world", "HELLO WORLD"),
                RowFactory.create(3, "", "")), SCHEMA);
        MixtralGenerator g = new MixtralGenerator().setModel("echo-transformer").setInputCol("text")
                .setOutputCol("completion").setMaxNewTokens(50).setBatchSize(2);
        Dataset<Row> out = g.transform(in);
        assertEquals(g.transformSchema(in.schema()), out.schema());
        assertEquals(List.of("id", "text", "expected", "completion", "finish_reason", "prompt_tokens",
                "completion_tokens", "error", "latency_ms", "model", "max_new_tokens", "temperature", "top_p", "top_k",
                "seed", "stop"), List.of(out.columns()));
        for (Row r : out.collectAsList()) {
            assertEquals(r.<String>getAs("expected"), r.getAs("completion"));
            assertEquals(r.<String>getAs("text").isEmpty() ? "error" : "stop", r.getAs("finish_reason"));
        }
    }

    @Test
    void saveAndLoadKeepTheParams(@TempDir Path dir) throws Exception {
        MixtralGenerator g = new MixtralGenerator().setModel("/models/x.gguf").setInputCol("text").setSeed(99)
                .setTemperature(0.8).setTopK(40).setDevice("cpu");
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

        // Inside a Pipeline too.
        PipelineModel model = new Pipeline().setStages(new PipelineStage[] {g.setModel("echo-pipeline").setTemperature(0)})
                .fit(spark.createDataFrame(List.of(RowFactory.create(1, "x", "X")), SCHEMA));
        model.write().overwrite().save(dir.resolve("pipeline").toString());
        PipelineModel loaded = PipelineModel.load(dir.resolve("pipeline").toString());
        Row r = loaded.transform(spark.createDataFrame(List.of(RowFactory.create(7, "pipe", "PIPE")), SCHEMA)).first();
        assertEquals("PIPE", r.getAs("generation"));
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
