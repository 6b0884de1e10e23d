package org.mixtralspark.udf;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * The batched {@code mapPartitions} function: each input row becomes exactly one output row, in the same order. Rows
 * stream through in chunks of {@code batchSize}: validated and tokenized, written as an {@link ArrowRequestBatch},
 * handed to this executor's shared engine ({@link ExecutorEngines}), and the {@link ArrowResultBatch} that comes back
 * is read through Spark's {@code ArrowColumnVector}s into rows. Two chunks are in the engine at once so that it never waits for the task to tokenize.
 *
 * <p>Output: with {@code keepInputColumns}, the input's columns followed by {@link GenerationColumns#fields}; otherwise
 * the id column followed by them (the job's table). Use with {@code Encoders.row(outputSchema(input))}.
 */
public final class GenerateFunction implements MapPartitionsFunction<Row, Row> {

    private static final long serialVersionUID = 1L;

    final ModelSpec model;
    final InputLayout layout;
    final SamplingParams defaults;
    final Long jobSeed;
    final int batchSize;
    final boolean keepInputColumns;
    final GenerationMetrics metrics;
    private final StructType outputSchema;

    /**
     * @param input       the schema of the rows this function will see
     * @param idCol       id column
     * @param promptCol   prompt column, or null when {@code messagesCol} is set
     * @param messagesCol chat messages column, or null
     * @param defaults    the sampling parameters of a row that has no column (or a null cell) for one
     * @param jobSeed     when set, each row's seed is derived from it and the row id ({@link RowSeeds}); null = a
     *                    random seed per row (not reproducible)
     * @param metrics     accumulators to add to, or null
     */
    public GenerateFunction(StructType input, String idCol, String promptCol, String messagesCol, ModelSpec model,
                            SamplingParams defaults, Long jobSeed, int batchSize, boolean keepInputColumns,
                            String generationCol, GenerationMetrics metrics) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size = " + batchSize + ": must be >= 1");
        }
        this.model = Objects.requireNonNull(model, "model");
        this.layout = InputLayout.of(input, idCol, promptCol, messagesCol);
        this.defaults = Objects.requireNonNull(defaults, "defaults");
        this.jobSeed = jobSeed;
        this.batchSize = batchSize;
        this.keepInputColumns = keepInputColumns;
        this.metrics = metrics;
        this.outputSchema = outputSchema(input, layout.idIndex(), keepInputColumns, generationCol);
    }

    /** The schema of the rows {@link #call} returns. */
    public StructType outputSchema() {
        return outputSchema;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new PartitionGenerator(this, input);
    }

    static StructType outputSchema(StructType input, int idIndex, boolean keepInputColumns, String generationCol) {
        List<StructField> f = new ArrayList<>();
        if (keepInputColumns) {
            f.addAll(List.of(input.fields()));
        } else {
            f.add(input.fields()[idIndex]);
        }
        for (StructField added : GenerationColumns.fields(generationCol)) {
            for (StructField existing : f) {
                if (existing.name().equalsIgnoreCase(added.name())) {
                    throw new IllegalArgumentException("output column " + added.name() + " already exists in the "
                            + "input: rename or drop the input column first");
                }
            }
            f.add(added);
        }
        return new StructType(f.toArray(StructField[]::new));
    }
}
