package org.mixtralspark.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.mixtralspark.engine.serving.RoutingCounts;
import org.mixtralspark.engine.serving.RoutingReport;
import org.mixtralspark.udf.GenerateFunction;
import org.mixtralspark.udf.GenerationColumns;
import org.mixtralspark.udf.GenerationMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

/**
 * One run of the job in a given SparkSession: read → mark null and duplicate ids → skip ids already in the output
 * (resume) → spread over partitions → {@link GenerateFunction} → write → summary. Tests call {@link #run} directly.
 */
public final class JobRunner {

    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
    private static final String POSITION = "_mixtral_position";
    private static final String RANK = "_mixtral_rank";
    private static final String DONE_ID = "_mixtral_done_id";

    private JobRunner() {
    }

    public static JobSummary run(SparkSession spark, JobOptions o) {
        long t0 = System.nanoTime();
        String started = Instant.now().toString();
        OutputTable out = OutputTable.of(spark, o);
        // The lock comes first: a second run on this output fails before it reads anything or waits for executors.
        try (OutputLock lock = out.lock(RunIds.next(), o.breakLock())) {
            try {
                return run(spark, o, read(spark, o), out, lock, t0, started);
            } finally {
                out.discardIfUnpublished();
            }
        }
    }

    /** The run proper, holding the output's lock: no other run reads or writes the output meanwhile. */
    private static JobSummary run(SparkSession spark, JobOptions o, Dataset<Row> input, OutputTable out,
            OutputLock lock, long t0, String started) {
        String id = o.idCol();
        out.removeLeftovers();
        boolean exists = out.exists();
        if (o.mode().equals("error-if-exists") && exists) {
            throw new JobException("the output " + out.describe() + " exists already: choose --mode overwrite, "
                    + "append or resume, or another --output");
        }

        // Input position first, before any shuffle: "the first row with an id" means the first in the input.
        Dataset<Row> rows = input.withColumn(POSITION, monotonically_increasing_id());
        Column idCol = rows.col(quote(id));
        boolean resuming = o.mode().equals("resume") && exists;
        Dataset<Row> existing = null;
        if (resuming) {
            existing = out.read();
            if (!hasColumn(existing, id)) {
                throw new JobException("--mode resume: the output " + out.describe() + " has no column " + id
                        + "; it was not written by this job with --id-col " + id);
            }
            if (o.explodeSamples()) {
                // keyed on (id, sample_index): run the rows missing a sample; only those samples are written
                rows = SampleRows.incomplete(rows, id, existing, o.sampling().n());
            } else {
                if (hasColumn(existing, GenerationColumns.SAMPLE_INDEX)) {
                    throw new JobException("--mode resume: the output " + out.describe() + " has one row per sample "
                            + "(column " + GenerationColumns.SAMPLE_INDEX + "): resume it with --explode-samples");
                }
                Dataset<Row> done = existing.select(existing.col(quote(id)).as(DONE_ID)).distinct();
                rows = rows.join(done, idCol.equalTo(done.col(DONE_ID)), "left_anti");
            }
            // Null ids cannot be matched; their error rows are written once, by the first run.
            if (!existing.filter(existing.col(quote(id)).isNull()).limit(1).isEmpty()) {
                rows = rows.filter(rows.col(quote(id)).isNotNull());
            }
        }
        int partitions = o.partitions() > 0 ? o.partitions() : spark.sparkContext().defaultParallelism();
        rows = rows.repartition(partitions, rows.col(quote(id)));
        rows = rows
                .withColumn(RANK, row_number().over(Window.partitionBy(rows.col(quote(id))).orderBy(rows.col(POSITION))))
                .withColumn(GenerationColumns.INPUT_ERROR,
                        when(rows.col(quote(id)).isNull(), lit("the id is null"))
                                .when(org.apache.spark.sql.functions.col(RANK).gt(1),
                                        lit("duplicate id: an earlier input row has this id and is generated; "
                                                + "this row is not"))
                                .otherwise(lit(null).cast(DataTypes.StringType)))
                .drop(RANK, POSITION);

        checkModelVisible(spark, o);
        // before any task: an executor that cannot hold the model would die of OutOfMemoryError, one after another
        ModelFit.check(spark.sparkContext(), o.modelSpec().path(), o.modelSpec().engineOptions());
        GenerationMetrics metrics = GenerationMetrics.register(spark.sparkContext());
        GenerateFunction fn;
        try {
            fn = new GenerateFunction(rows.schema(), id, o.promptCol(), o.messagesCol(), o.modelSpec(), o.sampling(),
                    o.jobSeed(), o.responseFormat(), o.batchSize(), false, GenerationColumns.GENERATION, metrics)
                    .withDefaultLabels(o.labels());
        } catch (IllegalArgumentException e) {
            throw new JobException("input " + o.input() + ": " + e.getMessage(), e);
        }
        if (o.sortsPrompts()) {
            rows = rows.sortWithinPartitions(promptOrder(rows, o));
        }
        Dataset<Row> generated = TestDelay.apply(fn.apply(rows));
        if (o.explodeSamples()) {
            generated = SampleRows.explode(generated, id);
            if (resuming) {
                generated = SampleRows.notWritten(generated, id, existing);
            }
        }

        long inputRows = input.count();
        LOG.info("run {}: generating {} input rows ({}) with {} over {} partitions into {} (mode {})",
                lock.runId(), inputRows, resuming ? "skipping ids already in the output" : "all",
                o.modelSpec().path(), partitions, out.describe(), o.mode());
        try (ProgressListener progress = ProgressListener.start(spark.sparkContext(), metrics, inputRows)) {
            out.write(generated, o.mode(), lock);
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        long outputRows = out.read().count();

        Map<String, Object> details = new LinkedHashMap<>();
        details.put("output", out.name);
        details.put("output_format", o.outputFormat());
        details.put("mode", o.mode());
        details.put("run_id", lock.runId());
        details.put("partitions", partitions);
        details.put("started_at", started);
        details.put("spark_version", spark.version());
        details.put("master", spark.sparkContext().master());
        details.put("app_id", spark.sparkContext().applicationId());
        details.put("options", o.describe());
        JobSummary summary = new JobSummary(metrics.rows(), metrics.ok(), metrics.errors(), metrics.promptTokens(),
                metrics.completionTokens(), metrics.cachedPromptTokens(), wall, metrics.engineLoadsPerExecutor(), metrics.executorPids(), inputRows,
                resuming ? inputRows - metrics.rows() : 0, outputRows, details);
        String json = summary.toJson();
        String summaryPath = o.summaryPath() != null ? o.summaryPath() : out.defaultSummaryPath();
        out.writeText(summaryPath, json + "\n");
        if (o.routingStatsPath() != null) {
            RoutingCounts routing = metrics.routingCounts();
            if (!routing.available()) {
                LOG.warn("no expert routing statistics: {}", routing.unavailable());
            }
            out.writeText(o.routingStatsPath(), RoutingReport.json(routing, List.of(), null) + "\n");
        }
        LOG.info("done: {} rows ({} ok, {} errors), {} prompt ({} from the prefix cache) + {} completion tokens in {} s "
                + "= {} tokens/s; engine loads per executor {}; summary in {}", summary.rows(), summary.ok(),
                summary.errors(), summary.promptTokens(), summary.cachedPromptTokens(), summary.completionTokens(), String.format("%.1f", wall),
                String.format("%.1f", summary.tokensPerSecond()), summary.engineLoads(), summaryPath);
        if (o.show() > 0) {
            Dataset<Row> written = out.read();
            written.orderBy(written.col(quote(id))).select(quote(id), GenerationColumns.FINISH_REASON,
                    GenerationColumns.COMPLETION_TOKENS, GenerationColumns.GENERATION, GenerationColumns.ERROR)
                    .show(o.show(), 60, false);
        }
        return summary;
    }

    /**
     * In local mode the driver is the executor: a missing model is an error now rather than four failed tasks later.
     * On a cluster the executors may see a path the driver does not (or get the file by --files), so only warn.
     */
    private static void checkModelVisible(SparkSession spark, JobOptions o) {
        String path = o.modelSpec().path();
        if (java.nio.file.Files.exists(java.nio.file.Path.of(path))) {
            return;
        }
        if (spark.sparkContext().isLocal()) {
            throw new JobException("--model " + path + ": no such file or folder (working folder "
                    + java.nio.file.Path.of("").toAbsolutePath() + ")");
        }
        LOG.warn("--model {} is not visible on the driver; the executors must find it (a shared path, or --files / "
                + "--archives)", path);
    }

    private static Dataset<Row> read(SparkSession spark, JobOptions o) {
        try {
            return switch (o.inputFormat()) {
                case "table" -> spark.table(o.input());
                default -> spark.read().parquet(o.input());
            };
        } catch (RuntimeException e) {
            throw new JobException("cannot read --input " + o.input() + " (" + o.inputFormat() + "): "
                    + e.getMessage(), e);
        }
    }

    /**
     * The order that puts the rows of a partition sharing a prompt head next to each other: the prompt text, or the
     * messages (as JSON when they are not a string). Lexical order keeps every shared head contiguous, however long,
     * so its blocks are computed once and reused by the rows after it while they are still cached. The order cannot
     * change an output: a row's seed comes from its id and its tokens do not depend on the batch (issue 10's batch
     * invariance); duplicates were marked in input order before it.
     */
    private static Column promptOrder(Dataset<Row> rows, JobOptions o) {
        String name = o.messagesCol() != null ? o.messagesCol() : o.promptCol() != null ? o.promptCol() : "prompt";
        Column c = rows.col(quote(name));
        return rows.select(c).schema().fields()[0].dataType().equals(DataTypes.StringType) ? c : to_json(c);
    }

    private static boolean hasColumn(Dataset<Row> df, String name) {
        for (String c : df.columns()) {
            if (c.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** A column name as Spark's col() wants it when it may contain dots or spaces. */
    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }
}
