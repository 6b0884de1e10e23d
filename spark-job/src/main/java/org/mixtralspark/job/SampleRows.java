package org.mixtralspark.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.mixtralspark.udf.GenerationColumns;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.posexplode_outer;
import static org.apache.spark.sql.functions.when;

/**
 * {@code --explode-samples}: one output row per sample instead of one per input row. A row's n samples become n rows
 * numbered by {@code sample_index} (0 first), each with that sample's {@code generation}, {@code finish_reason} and
 * {@code completion_tokens} and the row's other columns; {@code logprobs}, which are sample 0's, stay on sample 0's
 * row only. A row that never ran (an error row) stays one row, with {@code sample_index} 0. The output key is then
 * (id, sample_index), and resume works on it: {@link #incomplete} keeps the input rows missing a sample and
 * {@link #notWritten} drops the samples already written.
 */
final class SampleRows {

    private static final String SAMPLE = "_mixtral_sample";
    private static final String DONE_ID = "_mixtral_done_id";
    private static final String DONE_INDEX = "_mixtral_done_index";
    private static final String DONE_SAMPLES = "_mixtral_done_samples";

    private SampleRows() {
    }

    /** The generated rows, one per sample, with {@code sample_index} after the id column. */
    static Dataset<Row> explode(Dataset<Row> generated, String idCol) {
        List<String> columns = Arrays.asList(generated.columns());
        if (!columns.contains(GenerationColumns.SAMPLES)) {
            // one sample per row (n = 1 and no n column): every row is sample 0
            return reorder(generated.withColumn(GenerationColumns.SAMPLE_INDEX, lit(0)), idCol);
        }
        List<Column> kept = new ArrayList<>();
        for (String c : columns) {
            if (!c.equals(GenerationColumns.SAMPLES)) {
                kept.add(generated.col(quote(c)));
            }
        }
        kept.add(posexplode_outer(generated.col(GenerationColumns.SAMPLES)).as(new String[] {
            GenerationColumns.SAMPLE_INDEX, SAMPLE}));
        Dataset<Row> rows = generated.select(kept.toArray(Column[]::new));
        Column sample = col(SAMPLE);
        Column has = sample.isNotNull();
        rows = rows
                .withColumn(GenerationColumns.GENERATION,
                        when(has, sample.getField(GenerationColumns.GENERATION)).otherwise(col(GenerationColumns.GENERATION)))
                .withColumn(GenerationColumns.FINISH_REASON,
                        when(has, sample.getField(GenerationColumns.FINISH_REASON))
                                .otherwise(col(GenerationColumns.FINISH_REASON)))
                .withColumn(GenerationColumns.COMPLETION_TOKENS,
                        when(has, sample.getField(GenerationColumns.COMPLETION_TOKENS))
                                .otherwise(col(GenerationColumns.COMPLETION_TOKENS)))
                .withColumn(GenerationColumns.SAMPLE_INDEX, coalesce(col(GenerationColumns.SAMPLE_INDEX), lit(0)));
        if (columns.contains(GenerationColumns.LOGPROBS)) {
            rows = rows.withColumn(GenerationColumns.LOGPROBS,
                    when(col(GenerationColumns.SAMPLE_INDEX).equalTo(0), col(GenerationColumns.LOGPROBS)));
        }
        return reorder(rows.drop(SAMPLE), idCol);
    }

    /**
     * The input rows of which the exploded output {@code existing} lacks a sample: fewer distinct sample indexes
     * under the id than the row's n (its {@code n} cell, else the job's {@code --n}). An error row was written once,
     * as sample 0; it comes back here (when n > 1) and {@link #notWritten} drops it again.
     */
    static Dataset<Row> incomplete(Dataset<Row> rows, String idCol, Dataset<Row> existing, int defaultN) {
        if (!Arrays.asList(existing.columns()).contains(GenerationColumns.SAMPLE_INDEX)) {
            throw new JobException("--mode resume --explode-samples: the output has no column "
                    + GenerationColumns.SAMPLE_INDEX + "; it was not written with --explode-samples");
        }
        Dataset<Row> done = existing.groupBy(existing.col(quote(idCol)).as(DONE_ID))
                .agg(countDistinct(existing.col(GenerationColumns.SAMPLE_INDEX)).as(DONE_SAMPLES));
        Column expected = lit(defaultN);
        if (hasColumn(rows, GenerationColumns.N)) {
            // a cell that is no whole number is the row's error: run it (its error row is then dropped as written)
            expected = coalesce(rows.col(GenerationColumns.N).cast("int"), lit(defaultN));
        }
        Dataset<Row> joined = rows.join(done, rows.col(quote(idCol)).equalTo(done.col(DONE_ID)), "left_outer");
        return joined.filter(done.col(DONE_SAMPLES).isNull().or(done.col(DONE_SAMPLES).lt(expected)))
                .drop(DONE_ID, DONE_SAMPLES);
    }

    /** The exploded rows whose (id, sample_index) is not in {@code existing} yet. */
    static Dataset<Row> notWritten(Dataset<Row> exploded, String idCol, Dataset<Row> existing) {
        Dataset<Row> keys = existing.select(existing.col(quote(idCol)).as(DONE_ID),
                existing.col(GenerationColumns.SAMPLE_INDEX).as(DONE_INDEX)).distinct();
        return exploded.join(keys, exploded.col(quote(idCol)).equalTo(keys.col(DONE_ID))
                .and(exploded.col(GenerationColumns.SAMPLE_INDEX).equalTo(keys.col(DONE_INDEX))), "left_anti");
    }

    private static Dataset<Row> reorder(Dataset<Row> rows, String idCol) {
        List<Column> order = new ArrayList<>();
        order.add(rows.col(quote(idCol)));
        order.add(rows.col(GenerationColumns.SAMPLE_INDEX));
        for (String c : rows.columns()) {
            if (!c.equals(idCol) && !c.equals(GenerationColumns.SAMPLE_INDEX)) {
                order.add(rows.col(quote(c)));
            }
        }
        return rows.select(order.toArray(Column[]::new));
    }

    private static boolean hasColumn(Dataset<Row> df, String name) {
        return Arrays.stream(df.columns()).anyMatch(c -> c.equalsIgnoreCase(name));
    }

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }
}
