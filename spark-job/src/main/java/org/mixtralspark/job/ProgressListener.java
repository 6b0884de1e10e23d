package org.mixtralspark.job;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.mixtralspark.udf.GenerationMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The driver's progress line ({@code progress: 120 of 1000 rows (2 errors), 3.1 rows/s, ...}), written by a timer
 * every interval (10 s by default) whatever the number of partitions: with one partition no task ends before the
 * last row, so a line per finished task would come only at the end.
 *
 * <p>Rows done = the accumulators (merged on the driver when a task ends) + the partial counts of the tasks still
 * running, which each executor reports with its heartbeat ({@code spark.executor.heartbeatInterval}, 10 s by
 * default): a running task's rows show up one heartbeat late. Between a task's end being merged and its end event
 * reaching this listener the task can be counted twice for a moment, so the figure is capped at the total.
 */
final class ProgressListener extends SparkListener implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);

    /** The interval, for tests and for users who want another: {@code -Dmixtral.progressIntervalMs=N}. */
    static final String INTERVAL_PROPERTY = "mixtral.progressIntervalMs";

    private final SparkContext sc;
    private final GenerationMetrics metrics;
    private final GenerationMetrics.LiveIds ids;
    private final long expectedRows;
    private final long started = System.nanoTime();
    private final Consumer<String> sink;
    /** Task id -> its latest reported {rows, errors, completion tokens}, while it runs. */
    private final Map<Long, long[]> running = new ConcurrentHashMap<>();
    private final Set<Long> ended = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer;

    private ProgressListener(SparkContext sc, GenerationMetrics metrics, long expectedRows, Consumer<String> sink) {
        this.sc = sc;
        this.metrics = metrics;
        this.ids = metrics.liveIds();
        this.expectedRows = expectedRows;
        this.sink = sink;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mixtral-progress");
            t.setDaemon(true);
            return t;
        });
    }

    /** Registers a listener on {@code sc} and starts its timer; {@link #close()} stops both. */
    static ProgressListener start(SparkContext sc, GenerationMetrics metrics, long expectedRows) {
        long ms = Long.getLong(INTERVAL_PROPERTY, 10_000L);
        return start(sc, metrics, expectedRows, Duration.ofMillis(Math.max(1, ms)), LOG::info);
    }

    static ProgressListener start(SparkContext sc, GenerationMetrics metrics, long expectedRows, Duration every,
                                  Consumer<String> sink) {
        ProgressListener p = new ProgressListener(sc, metrics, expectedRows, sink);
        sc.addSparkListener(p);
        p.timer.scheduleAtFixedRate(p::report, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
        return p;
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task
                : CollectionConverters.asJava(update.accumUpdates())) {
            long taskId = (Long) task._1();
            if (ended.contains(taskId)) {
                continue;   // a heartbeat sent before the task ended, delivered after: the accumulators have it
            }
            long[] counts = new long[3];
            for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
                long id = info.id();
                int slot = id == ids.rows() ? 0 : id == ids.errors() ? 1 : id == ids.completionTokens() ? 2 : -1;
                if (slot >= 0 && info.update().isDefined() && info.update().get() instanceof Number n) {
                    counts[slot] = n.longValue();
                }
            }
            running.put(taskId, counts);
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
        long taskId = taskEnd.taskInfo().taskId();
        ended.add(taskId);
        running.remove(taskId);
    }

    /** The progress line now. */
    String line() {
        long rows = metrics.rows();
        long errors = metrics.errors();
        long tokens = metrics.completionTokens();
        for (long[] c : running.values()) {
            rows += c[0];
            errors += c[1];
            tokens += c[2];
        }
        rows = Math.min(rows, expectedRows);
        double s = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
        return String.format("progress: %d of %d rows (%d errors), %.1f rows/s, %d tokens generated, %.1f tokens/s",
                rows, expectedRows, Math.min(errors, rows), rows / s, tokens, tokens / s);
    }

    private void report() {
        try {
            sink.accept(line());
        } catch (RuntimeException e) {
            LOG.debug("progress line failed", e);   // never let the timer die: the job goes on without it
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sc.removeSparkListener(this);
    }
}
