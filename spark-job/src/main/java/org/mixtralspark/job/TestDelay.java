package org.mixtralspark.job;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;

import java.util.Iterator;

/**
 * TEST-ONLY: with the system property {@code mixtral.test.taskDelayMs} set on the driver, each task waits that long
 * before its first row, so that fault tests can kill a process at a known point (some task files committed, others
 * not); with {@code mixtral.test.stragglerMs}, only the first attempt of partition 0 waits (a straggler that
 * speculation copies). Unset, as in every real run, the rows pass through untouched.
 */
final class TestDelay implements MapPartitionsFunction<Row, Row> {

    static final String PROPERTY = "mixtral.test.taskDelayMs";
    static final String STRAGGLER = "mixtral.test.stragglerMs";

    private final long everyTaskMs;
    private final long stragglerMs;

    private TestDelay(long everyTaskMs, long stragglerMs) {
        this.everyTaskMs = everyTaskMs;
        this.stragglerMs = stragglerMs;
    }

    static Dataset<Row> apply(Dataset<Row> rows) {
        long every = Long.getLong(PROPERTY, 0L);
        long straggler = Long.getLong(STRAGGLER, 0L);
        return every <= 0 && straggler <= 0 ? rows
                : rows.mapPartitions(new TestDelay(every, straggler), Encoders.row(rows.schema()));
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) throws InterruptedException {
        TaskContext task = TaskContext.get();
        boolean straggler = task != null && task.partitionId() == 0 && task.attemptNumber() == 0;
        Thread.sleep(everyTaskMs + (straggler ? stragglerMs : 0));
        return rows;
    }
}
