package org.mixtralspark.job;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.GenerationMetrics;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;
import scala.Option;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver's progress line comes every interval whatever the partitions: a one-partition job whose task waits
 * (the test hook {@code mixtral.test.taskDelayMs}) logs lines while it runs; and the rows of a running task, which
 * the accumulators hold only when it ends, are counted from the executors' heartbeats.
 */
class ProgressListenerTest {

    private static final Pattern LINE = Pattern.compile(
            "progress: \\d+ of 6 rows \\(\\d+ errors\\), \\d+\\.\\d rows/s, \\d+ tokens generated, \\d+\\.\\d tokens/s");

    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
    }

    @Test
    void aOnePartitionJobLogsProgressWhileItRuns() throws Exception {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create("r" + i, "prompt " + i));
        }
        String in = dir.resolve("in").toString();
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(in);
        List<String> lines = new CopyOnWriteArrayList<>();
        AbstractAppender capture = new AbstractAppender("progress-capture", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                lines.add(event.getMessage().getFormattedMessage());
            }
        };
        capture.start();
        org.apache.logging.log4j.core.Logger logger =
                (org.apache.logging.log4j.core.Logger) LogManager.getLogger(ProgressListener.class);
        logger.addAppender(capture);
        Level level = logger.getLevel();
        logger.setLevel(Level.INFO);
        // The task waits 3 s before its first row; a line every 200 ms gives about 15 while it waits. Two are asked
        // for: the old listener, which wrote a line only when a task ended 10 s after the start, wrote none.
        System.setProperty(TestDelay.PROPERTY, "3000");
        System.setProperty(ProgressListener.INTERVAL_PROPERTY, "200");
        int whenDone;
        try {
            JobRunner.run(spark, JobOptions.parse("--input", in, "--model", TinyModels.tiny().toString(),
                    "--output", dir.resolve("out").toString(), "--partitions", "1", "--max-new-tokens", "2"));
            whenDone = lines.size();
        } finally {
            System.clearProperty(TestDelay.PROPERTY);
            System.clearProperty(ProgressListener.INTERVAL_PROPERTY);
            logger.removeAppender(capture);
            logger.setLevel(level);
            capture.stop();
        }
        assertTrue(whenDone >= 2, "progress lines during the run: " + lines);
        for (String line : lines) {
            assertTrue(LINE.matcher(line).matches(), line);
        }
    }

    @Test
    void aRunningTasksRowsCountFromItsHeartbeats() {
        GenerationMetrics metrics = GenerationMetrics.register(spark.sparkContext());
        GenerationMetrics.LiveIds ids = metrics.liveIds();
        try (ProgressListener p = ProgressListener.start(spark.sparkContext(), metrics, 100, Duration.ofHours(1),
                line -> { })) {
            assertTrue(p.line().startsWith("progress: 0 of 100 rows (0 errors), "), p.line());
            p.onExecutorMetricsUpdate(heartbeat(42L, ids, 7, 1, 30));
            assertTrue(p.line().startsWith("progress: 7 of 100 rows (1 errors), "), p.line());
            assertTrue(p.line().contains(", 30 tokens generated, "), p.line());
            p.onExecutorMetricsUpdate(heartbeat(43L, ids, 5, 0, 10));
            assertTrue(p.line().startsWith("progress: 12 of 100 rows (1 errors), "), p.line());
            // a later heartbeat of the same task replaces its earlier counts
            p.onExecutorMetricsUpdate(heartbeat(42L, ids, 9, 2, 35));
            assertTrue(p.line().startsWith("progress: 14 of 100 rows (2 errors), "), p.line());
            assertTrue(p.line().contains(", 45 tokens generated, "), p.line());
            // never more than the input
            p.onExecutorMetricsUpdate(heartbeat(44L, ids, 500, 0, 0));
            assertTrue(p.line().startsWith("progress: 100 of 100 rows"), p.line());
        }
        assertEquals(0, metrics.rows(), "the accumulators themselves are untouched");
    }

    /** What an executor's heartbeat carries for one running task: its accumulators' values so far. */
    private static SparkListenerExecutorMetricsUpdate heartbeat(long taskId, GenerationMetrics.LiveIds ids, long rows,
                                                                long errors, long tokens) {
        List<AccumulableInfo> infos = List.of(info(ids.rows(), rows), info(ids.errors(), errors),
                info(ids.completionTokens(), tokens), info(-1, 1234));
        Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task =
                new Tuple4<>(taskId, 0, 0, CollectionConverters.asScala(infos).toSeq());
        return new SparkListenerExecutorMetricsUpdate("0",
                CollectionConverters.asScala(List.of(task)).toSeq(), scala.collection.immutable.Map$.MODULE$.empty());
    }

    private static AccumulableInfo info(long id, long value) {
        return new AccumulableInfo(id, Option.apply("x"), Option.apply(value), Option.empty(), false, false,
                Option.empty());
    }
}
