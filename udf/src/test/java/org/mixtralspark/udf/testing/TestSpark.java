package org.mixtralspark.udf.testing;

import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One {@code local[2,2]} SparkSession for all tests of a test JVM (starting Spark costs seconds on two cores), stopped
 * when the JVM exits. Two task slots, so two tasks share the executor's engine as on a cluster; a failed task gets a
 * second attempt, as on a cluster.
 */
public final class TestSpark {

    private static SparkSession spark;

    private TestSpark() {
    }

    public static synchronized SparkSession session() {
        if (spark == null) {
            Path warehouse;
            try {
                warehouse = Files.createTempDirectory("mixtral-spark-warehouse");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            spark = SparkSession.builder()
                    // local[N, maxFailures]: a failed task is retried once, as on a cluster.
                    .master("local[2,2]")
                    .appName("mixtral-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.warehouse.dir", warehouse.toUri().toString())
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> spark.stop()));
        }
        return spark;
    }
}
