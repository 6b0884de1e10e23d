package org.mixtralspark.job;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.udf.ExecutorEngines;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model that cannot fit an executor fails on the driver before any engine loads, naming the sizes; the executor's
 * memory is read from Spark's configuration as Spark sizes executors and containers.
 */
class ModelFitTest {

    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
    }

    @Test
    void aKvCacheLargerThanTheHeapFailsBeforeAnyEngineLoads() {
        String in = dir.resolve("in").toString();
        spark.createDataFrame(List.of(RowFactory.create("a", "hello")),
                new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType))
                .write().parquet(in);
        Path out = dir.resolve("out");
        int loads = ExecutorEngines.loads();
        JobOptions o = JobOptions.parse("--input", in, "--model", TinyModels.tiny().toString(), "--output",
                out.toString(), "--device", "cpu", "--kv-cache-memory", "64g");
        JobException e = assertThrows(JobException.class, () -> JobRunner.run(spark, o));
        String m = e.getMessage();
        assertTrue(m.startsWith("--model " + TinyModels.tiny() + ": the model does not fit in the executor's heap: "),
                m);
        assertTrue(m.contains("64.0 GiB (68719476736 bytes) of KV cache"), m);
        assertTrue(m.contains(Runtime.getRuntime().maxMemory() + " bytes) of heap (local mode: the driver's heap, "
                + "-Xmx)"), m);
        assertEquals(loads, ExecutorEngines.loads(), "no engine was loaded: no generation task ran");
        assertFalse(Files.exists(out), "nothing is left at the output");
    }

    @Test
    void aBadSizeNamesTheFlag() {
        JobOptions.UsageException e = assertThrows(JobOptions.UsageException.class, () -> JobOptions.parse(
                "--input", "i", "--model", "m", "--output", "o", "--kv-cache-memory", "lots"));
        assertTrue(e.getMessage().contains("--kv-cache-memory")
                && e.getMessage().contains("'lots' is not a size"), e.getMessage());
        assertEquals(512L << 20, JobOptions.parse("--input", "i", "--model", "m", "--output", "o",
                "--kv-cache-memory", "512m").modelSpec().engineOptions().kvCacheBytes());
    }

    @Test
    void theExecutorsMemoryAsSparkSizesIt() {
        SparkConf conf = new SparkConf(false);
        ModelFit.ExecutorMemory local = ModelFit.ExecutorMemory.of(conf, "local[*]", 123L);
        assertEquals(123L, local.heapBytes());
        assertEquals(-1, local.overheadBytes(), "nothing limits a local process");

        ModelFit.ExecutorMemory standalone = ModelFit.ExecutorMemory.of(conf, "spark://h:7077", 123L);
        assertEquals(1L << 30, standalone.heapBytes(), "spark.executor.memory defaults to 1g");
        assertEquals(-1, standalone.overheadBytes());

        conf.set("spark.executor.memory", "4g");
        ModelFit.ExecutorMemory yarn = ModelFit.ExecutorMemory.of(conf, "yarn", 123L);
        assertEquals(4L << 30, yarn.heapBytes());
        assertEquals(409L << 20, yarn.overheadBytes(), "10 % of 4096 MiB, above the 384 MiB floor");
        conf.set("spark.executor.memory", "1g");
        assertEquals(384L << 20, ModelFit.ExecutorMemory.of(conf, "k8s://https://h", 1L).overheadBytes());
        conf.set("spark.executor.memoryOverheadFactor", "0.5");
        assertEquals(512L << 20, ModelFit.ExecutorMemory.of(conf, "yarn", 1L).overheadBytes());
        conf.set("spark.executor.memoryOverhead", "30g");
        ModelFit.ExecutorMemory explicit = ModelFit.ExecutorMemory.of(conf, "k8s://https://h", 1L);
        assertEquals(30L << 30, explicit.overheadBytes());
        assertEquals("spark.executor.memoryOverhead = 30g", explicit.overheadSource());
    }

    @Test
    void onlyTheCpuIsChecked() {
        SparkConf conf = new SparkConf(false);
        EngineOptions o = EngineOptions.defaults();
        assertTrue(ModelFit.runsOnTheCpu(conf, o.withDevice("cpu")));
        assertTrue(ModelFit.runsOnTheCpu(conf, o), "auto with no GPU asked of the executors");
        assertFalse(ModelFit.runsOnTheCpu(conf, o.withDevice("cuda")));
        conf.set("spark.executor.resource.gpu.amount", "1");
        assertFalse(ModelFit.runsOnTheCpu(conf, o));
    }
}
