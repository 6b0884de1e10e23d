package org.mixtralspark.udf;

import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * The batched partition function: each input row becomes exactly one output row, in the same order. Rows stream
 * through in chunks of {@code batchSize}: validated and tokenized, written as an {@link ArrowRequestBatch}, handed to
 * this executor's shared engine ({@link ExecutorEngines}), and the {@link ArrowResultBatch} that comes back is read
 * through Spark's {@code ArrowColumnVector}s into Spark's own rows. Two chunks are in the engine at once so that it
 * never waits for the task to tokenize.
 *
 * <p>Output: with {@code keepInputColumns}, the input's columns followed by {@link GenerationColumns#fields}; otherwise
 * the id column followed by them (the job's table). With n samples per row (the defaults' n above 1, or an {@code n}
 * column) the row's columns are sample 0's and a {@code samples} column holds all of them; with logprobs in the
 * defaults, a {@code logprobs} column holds sample 0's. Run it with {@link #apply(Dataset)}.
 */
public final class GenerateFunction implements Serializable {

    private static final long serialVersionUID = 2L;

    final ModelSpec model;
    final StructType inputSchema;
    final InputLayout layout;
    final DataType idType;
    final SamplingParams defaults;
    final Long jobSeed;
    /** The response_format JSON of a row with no {@code response_format} cell, or null for free text. */
    final String defaultResponseFormat;
    /** The labels a row with no {@code labels} cell scores, or null: such a row generates. */
    List<String> defaultLabels;
    final int batchSize;
    final boolean keepInputColumns;
    final GenerationMetrics metrics;
    /** Whether the output has the {@link GenerationColumns#SAMPLES} column: n above 1 by default, or an n column. */
    final boolean samplesColumn;
    /** Whether the output has the {@link GenerationColumns#LOGPROBS} column: logprobs asked for by default. */
    final boolean logprobsColumn;
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
        this(input, idCol, promptCol, messagesCol, model, defaults, jobSeed, null, batchSize, keepInputColumns,
                generationCol, metrics);
    }

    /**
     * As the other constructor, with a default structured output format.
     *
     * @param defaultResponseFormat the response_format JSON a row gets when it has no {@code response_format} column
     *                              (or a null cell in it); null = free text
     * @throws IllegalArgumentException if {@code defaultResponseFormat} is not a supported format (the message says
     *                                  why), checked here so a bad default fails before any row is run
     */
    public GenerateFunction(StructType input, String idCol, String promptCol, String messagesCol, ModelSpec model,
                            SamplingParams defaults, Long jobSeed, String defaultResponseFormat, int batchSize,
                            boolean keepInputColumns, String generationCol, GenerationMetrics metrics) {
        if (defaultResponseFormat != null) {
            ResponseFormat.parse(defaultResponseFormat);
        }
        this.defaultResponseFormat = defaultResponseFormat;
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size = " + batchSize + ": must be >= 1");
        }
        this.model = Objects.requireNonNull(model, "model");
        this.inputSchema = input;
        this.layout = InputLayout.of(input, idCol, promptCol, messagesCol);
        this.idType = input.fields()[layout.idIndex()].dataType();
        this.defaults = Objects.requireNonNull(defaults, "defaults");
        this.jobSeed = jobSeed;
        this.batchSize = batchSize;
        this.keepInputColumns = keepInputColumns;
        this.metrics = metrics;
        this.samplesColumn = defaults.n() > 1 || layout.parameter(InputLayout.N) >= 0;
        this.logprobsColumn = defaults.logprobs() > 0;
        this.outputSchema = outputSchema(input, layout.idIndex(), keepInputColumns, generationCol, samplesColumn,
                logprobsColumn);
    }

    /**
     * Makes every row without a {@code labels} cell (or with a null one) score these labels instead of generating
     * (null or empty: such rows generate). Call before {@link #apply}. Returns this function.
     *
     * @throws IllegalArgumentException for a bad list (an empty or null label, a duplicate), before any row runs
     */
    public GenerateFunction withDefaultLabels(List<String> labels) {
        if (labels == null || labels.isEmpty()) {
            this.defaultLabels = null;
            return this;
        }
        checkLabels(labels);
        this.defaultLabels = List.copyOf(labels);
        return this;
    }

    /**
     * Checks what can be said of a label list before any prompt: at least one, none null or empty, none twice.
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static void checkLabels(List<String> labels) {
        // the engine's own check, with each label standing for one token (the context is per row)
        String problem = new org.mixtralspark.engine.serving.LabelScoring(labels,
                labels.stream().map(l -> new int[] {0}).toList(), false).problem(0, Integer.MAX_VALUE);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** The schema of the rows {@link #apply} returns. */
    public StructType outputSchema() {
        return outputSchema;
    }

    /**
     * The generations of {@code input}'s rows (lazily, as any Dataset). The rows go in and come out in Spark's own
     * row format, with no Java object per cell on the way out: the partition function reads the input's
     * {@code InternalRow}s and hands back rows whose generated cells are views of the Arrow result batch, which Spark
     * copies into its UnsafeRows as it pulls them (as for the rows of its own {@code ArrowConverters}).
     *
     * @throws IllegalArgumentException if {@code input}'s schema is not the one this function was built for
     */
    public Dataset<Row> apply(Dataset<Row> input) {
        if (!input.schema().equals(inputSchema)) {
            throw new IllegalArgumentException("the input's schema " + input.schema().simpleString()
                    + " is not the one this function was built for: " + inputSchema.simpleString());
        }
        RDD<InternalRow> rows = input.queryExecution().toRdd();
        FlatMapFunction<Iterator<InternalRow>, InternalRow> perPartition = in -> new PartitionGenerator(this, in);
        RDD<InternalRow> generated = rows.toJavaRDD().mapPartitions(perPartition).rdd();
        // Spark's classic session makes a DataFrame of catalyst rows this way for its own Arrow data (PySpark's
        // createDataFrame from Arrow); there is no public API for it.
        return ((org.apache.spark.sql.classic.SparkSession) input.sparkSession())
                .internalCreateDataFrame(generated, outputSchema, false);
    }

    static StructType outputSchema(StructType input, int idIndex, boolean keepInputColumns, String generationCol,
                                   boolean samples, boolean logprobs) {
        List<StructField> f = new ArrayList<>();
        if (keepInputColumns) {
            f.addAll(List.of(input.fields()));
        } else {
            f.add(input.fields()[idIndex]);
        }
        for (StructField added : GenerationColumns.fields(generationCol, samples, logprobs)) {
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
