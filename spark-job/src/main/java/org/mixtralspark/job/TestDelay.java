package org.mixtralspark.job;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;

import java.util.Iterator;

/**
 * TEST-ONLY: with the system property {@code mixtral.test.taskDelayMs} set on the driver, each task waits that long
 * before its first row, so that fault tests can kill a process at a known point (some task files committed, others
 * not). Unset, as in every real run, the rows pass through untouched.
 */
final class TestDelay implements MapPartitionsFunction<Row, Row> {

    static final String PROPERTY = "mixtral.test.taskDelayMs";

    private final long millis;

    private TestDelay(long millis) {
        this.millis = millis;
    }

    static Dataset<Row> apply(Dataset<Row> rows) {
        long ms = Long.getLong(PROPERTY, 0L);
        return ms <= 0 ? rows : rows.mapPartitions(new TestDelay(ms), Encoders.row(rows.schema()));
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) throws InterruptedException {
        Thread.sleep(millis);
        return rows;
    }
}
