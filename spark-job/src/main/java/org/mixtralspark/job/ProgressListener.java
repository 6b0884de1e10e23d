package org.mixtralspark.job;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.mixtralspark.udf.GenerationMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs the job's progress on the driver, from the accumulators, at most every ten seconds as tasks finish. */
final class ProgressListener extends SparkListener {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);
    private static final long EVERY_NANOS = 10_000_000_000L;

    private final GenerationMetrics metrics;
    private final long expectedRows;
    private final long started = System.nanoTime();
    private long last = started;

    ProgressListener(GenerationMetrics metrics, long expectedRows) {
        this.metrics = metrics;
        this.expectedRows = expectedRows;
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd taskEnd) {
        long now = System.nanoTime();
        if (now - last < EVERY_NANOS) {
            return;
        }
        last = now;
        double s = (now - started) / 1e9;
        long tokens = metrics.completionTokens();
        LOG.info("progress: {} of {} rows ({} errors), {} tokens generated, {} tokens/s", metrics.rows(), expectedRows,
                metrics.errors(), tokens, String.format("%.1f", tokens / s));
    }
}
