package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.util.ArrayBasedMapData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.catalyst.util.MapData;
import org.apache.spark.unsafe.types.UTF8String;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.RoutingCounts;
import org.mixtralspark.udf.PreparedRow.ParamsUsed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One task's run of {@link GenerateFunction}: the iterator Spark pulls output rows from, in Spark's own row format.
 * An output row is the input row joined with the generation's columns, whose text and counts are read in place from
 * the {@link ArrowResultBatch} through Spark's {@code ArrowColumnVector}s (no copy into Java objects); Spark's scan
 * writes each into its UnsafeRow as it pulls it, as it does for the rows of {@code ArrowConverters}. So the result
 * batch of a chunk stays open while the chunk's rows are pulled, and is closed when the next chunk is asked for.
 *
 * <p>Owns a child allocator of the executor's root, named after the task. The request batches are closed by
 * try-with-resources as soon as the engine has the requests; the open result batch and then the allocator (reverse
 * order) are closed when the input is exhausted, and by the task-completion listener when the task fails or is
 * killed first ({@link #close()} is idempotent).
 */
final class PartitionGenerator implements Iterator<InternalRow>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionGenerator.class);
    /** Chunks in the engine at once, per task. */
    private static final int WINDOW = 2;
    private static final long PROGRESS_EVERY_NANOS = 30_000_000_000L;

    private final GenerateFunction f;
    private final Iterator<InternalRow> input;
    private final ExpressionEncoder.Deserializer<Row> toRow;
    private final UTF8String modelName;
    private final RowPreparer preparer;
    private final ArrowEngineRunner runner;
    private final BufferAllocator allocator;
    private final TaskContext task;
    private final String label;
    private final Engine engine;
    /** The engine's routing counts when this task began (see {@link GenerationMetrics#routingCounts}). */
    private final RoutingCounts routingAtStart;
    private final Deque<Chunk> inFlight = new ArrayDeque<>();
    /** The chunk whose rows are being pulled, with its result batch open; or null. */
    private Reading reading;
    private long seq;
    private boolean closed;

    private final long started = System.nanoTime();
    private long lastProgress = started;
    private long rows;
    private long ok;
    private long completionTokens;

    PartitionGenerator(GenerateFunction f, Iterator<InternalRow> input) {
        this.f = f;
        this.input = input;
        ExpressionEncoder<Row> encoder = ExpressionEncoder.apply(f.inputSchema);
        this.toRow = encoder.resolveAndBind(encoder.resolveAndBind$default$1(), encoder.resolveAndBind$default$2())
                .createDeserializer();
        this.modelName = UTF8String.fromString(f.model.path());
        this.task = TaskContext.get();
        this.label = task == null ? "local" : "stage " + task.stageId() + " partition " + task.partitionId()
                + " attempt " + task.attemptNumber() + " (TID " + task.taskAttemptId() + ")";
        this.engine = ExecutorEngines.get(f.model);
        this.routingAtStart = engine.routingCounts();
        this.preparer = new RowPreparer(engine, f.layout, f.defaults, f.jobSeed, f.defaultResponseFormat,
                f.defaultLabels);
        this.runner = new ArrowEngineRunner(engine);
        this.allocator = ExecutorEngines.allocator().newChildAllocator("mixtral " + label, 0, Long.MAX_VALUE);
        if (task != null) {
            task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> close());
        }
    }

    @Override
    public boolean hasNext() {
        if (reading != null && reading.hasNext()) {
            return true;
        }
        while (true) {
            closeReading();
            fill();
            Chunk next = inFlight.poll();
            if (next == null) {
                finish();
                return false;
            }
            reading = new Reading(next, next.pending == null ? null : awaitInterruptibly(next.pending));
            if (reading.hasNext()) {
                return true;
            }
        }
    }

    @Override
    public InternalRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return reading.next();
    }

    /** Reads, prepares and submits chunks until {@link #WINDOW} are in the engine or the input ends. */
    private void fill() {
        while (inFlight.size() < WINDOW && input.hasNext()) {
            List<InternalRow> inputs = new ArrayList<>(f.batchSize);
            List<PreparedRow> prepared = new ArrayList<>(f.batchSize);
            List<GenerationRequest> requests = new ArrayList<>(f.batchSize);
            while (inputs.size() < f.batchSize && input.hasNext()) {
                // the scan reuses its row object: keep a copy of the (small) input row until its output is pulled
                InternalRow in = input.next().copy();
                Row row = toRow.apply(in);
                Object id = row.get(f.layout.idIndex());
                String engineId = id + "@" + (task == null ? 0 : task.taskAttemptId()) + "." + (seq++);
                PreparedRow p = preparer.prepare(row, engineId);
                inputs.add(in);
                prepared.add(p);
                if (p.ok()) {
                    requests.add(p.request());
                }
            }
            ArrowEngineRunner.Pending pending = null;
            if (!requests.isEmpty()) {
                try (ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, requests)) {
                    pending = runner.submit(batch);
                }
            }
            inFlight.add(new Chunk(inputs, prepared, pending));
        }
    }

    private ArrowResultBatch awaitInterruptibly(ArrowEngineRunner.Pending pending) {
        // A killed task must not sit waiting until the engine is done: let Spark's kill flag through while waiting.
        return pending.await(allocator, task == null ? () -> { } : task::killTaskIfInterrupted);
    }

    private void closeReading() {
        if (reading != null) {
            reading.close();
            reading = null;
            progress(false);
        }
    }

    /** The output row of input row {@code in}: its columns (or its id) joined with the generation's columns. */
    private InternalRow outputRow(InternalRow in, InternalRow generated) {
        InternalRow kept = f.keepInputColumns ? in
                : new GenericInternalRow(new Object[] {in.get(f.layout.idIndex(), f.idType)});
        return new JoinedRow(kept, generated);
    }

    /**
     * The generation's columns for a row the engine answered: text, finish reason and error are the Arrow vectors'
     * bytes as Spark's {@code UTF8String}s (views, not copies), read through the batch's {@link InternalRow}.
     */
    private InternalRow generated(InternalRow res, ParamsUsed params) {
        UTF8String finish = res.getUTF8String(ResultColumns.FINISH_REASON);
        UTF8String error = res.isNullAt(ResultColumns.ERROR) ? null : res.getUTF8String(ResultColumns.ERROR);
        int prompt = res.getInt(ResultColumns.PROMPT_TOKENS);
        int completion = res.getInt(ResultColumns.COMPLETION_TOKENS);
        int cached = res.getInt(ResultColumns.CACHED_PROMPT_TOKENS);
        // views of the result batch's nested vectors, copied by Spark's projection as the row is pulled
        ArrayData samples = res.getArray(ResultColumns.SAMPLES);
        // the run's counts take every sample's tokens (the row's completion_tokens is sample 0's); the prompt was
        // computed once for all of them
        int generatedTokens = 0;
        for (int k = 0; k < samples.numElements(); k++) {
            generatedTokens += samples.getStruct(k, NestedResultCodecs.SAMPLE_FIELDS).getInt(
                    NestedResultCodecs.SAMPLE_COMPLETION_TOKENS);
        }
        count(!finish.equals(ERROR), prompt, generatedTokens, cached);
        Object logprobs = res.isNullAt(ResultColumns.LOGPROBS) ? null : res.getArray(ResultColumns.LOGPROBS);
        UTF8String label = res.isNullAt(ResultColumns.LABEL) ? null : res.getUTF8String(ResultColumns.LABEL);
        // a scoring row's labels and log-probabilities as a map; null for a generating row
        ArrayData names = res.getArray(ResultColumns.LABEL_NAMES);
        MapData scores = label == null || names.numElements() == 0 ? null
                : new ArrayBasedMapData(names.copy(), res.getArray(ResultColumns.LABEL_LOGPROBS).copy());
        return values(res.getUTF8String(ResultColumns.GENERATION), finish, prompt, completion, cached, error,
                res.getLong(ResultColumns.LATENCY_MS), params, label, scores, samples, logprobs);
    }

    /** The generation's columns for a row that never reached the engine. */
    private InternalRow errorRow(PreparedRow p) {
        count(false, 0, 0, 0);     // the summary's prompt_tokens are those sent to the engine
        return values(UTF8String.EMPTY_UTF8, ERROR, p.promptTokens(), 0, 0, UTF8String.fromString(p.error()), 0L,
                p.shown(), null, null, null, null);
    }

    private static final UTF8String ERROR = UTF8String.fromString("error");

    private void count(boolean isOk, int prompt, int completion, int cachedPrompt) {
        rows++;
        if (isOk) {
            ok++;
        }
        completionTokens += completion;
        if (f.metrics != null) {
            f.metrics.addRow(isOk, prompt, completion, cachedPrompt);
        }
    }

    private InternalRow values(UTF8String generation, UTF8String finish, Integer prompt, int completion,
                               int cachedPrompt, UTF8String error, long latency, ParamsUsed p, UTF8String label,
                               MapData labelScores, Object samples, Object logprobs) {
        List<Object> cells = new ArrayList<>(List.of(generation, finish));
        // null-tolerant from here on (List.of refuses nulls; prompt_tokens is null for a prompt never tokenized)
        cells.addAll(java.util.Arrays.asList(prompt, completion, cachedPrompt, error, latency, modelName,
                p.maxNewTokens(), p.temperature(), p.topP(), p.topK(), p.seed(), stop(p.stop()), label, labelScores));
        if (f.samplesColumn) {
            cells.add(samples);
        }
        if (f.logprobsColumn) {
            cells.add(logprobs);
        }
        return new GenericInternalRow(cells.toArray());
    }

    private static GenericArrayData stop(List<String> stop) {
        if (stop == null) {
            return null;
        }
        Object[] strings = new Object[stop.size()];
        for (int i = 0; i < strings.length; i++) {
            strings[i] = UTF8String.fromString(stop.get(i));
        }
        return new GenericArrayData(strings);
    }

    private void finish() {
        progress(true);
        if (f.metrics != null) {
            SparkEnv env = SparkEnv.get();
            String executor = env == null ? "driver" : env.executorId();
            long pid = ProcessHandle.current().pid();
            f.metrics.addEngineLoads(executor, pid, ExecutorEngines.loads());
            f.metrics.addRouting(executor + "/" + pid + "/" + System.identityHashCode(engine), routingAtStart,
                    engine.routingCounts());
        }
        close();
    }

    private void progress(boolean last) {
        long now = System.nanoTime();
        if (!last && now - lastProgress < PROGRESS_EVERY_NANOS) {
            return;
        }
        lastProgress = now;
        double s = (now - started) / 1e9;
        LOG.info("{} {}: {} rows ({} ok, {} errors), {} tokens generated in {} s = {} tokens/s", label,
                last ? "done" : "progress", rows, ok, rows - ok, completionTokens, String.format("%.1f", s),
                String.format("%.1f", s > 0 ? completionTokens / s : 0));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Chunk c : inFlight) {
            if (c.pending != null) {
                c.pending.abandon();
            }
        }
        inFlight.clear();
        // reverse order of opening: the result batch being read, then the task's allocator
        if (reading != null) {
            reading.close();
            reading = null;
        }
        allocator.close();
    }

    private record Chunk(List<InternalRow> inputs, List<PreparedRow> prepared, ArrowEngineRunner.Pending pending) {
    }

    /** Pulls a chunk's output rows in input order; holds the chunk's result batch (null if no row reached the engine). */
    private final class Reading implements Iterator<InternalRow>, AutoCloseable {
        private final Chunk chunk;
        private final ArrowResultBatch results;
        private int next;
        private int answered;

        Reading(Chunk chunk, ArrowResultBatch results) {
            this.chunk = chunk;
            this.results = results;
        }

        @Override
        public boolean hasNext() {
            return next < chunk.inputs.size();
        }

        @Override
        public InternalRow next() {
            int i = next++;
            PreparedRow p = chunk.prepared.get(i);
            if (!p.ok()) {
                return outputRow(chunk.inputs.get(i), errorRow(p));
            }
            InternalRow answer = results.row(answered++);
            // row i answers request i; a mix-up would put one row's text on another, so say it loudly
            if (!UTF8String.fromString(p.request().id()).equals(answer.getUTF8String(ResultColumns.ID))) {
                throw new IllegalStateException("result " + answer.getUTF8String(ResultColumns.ID)
                        + " came back in the place of request " + p.request().id());
            }
            return outputRow(chunk.inputs.get(i), generated(answer, p.shown()));
        }

        @Override
        public void close() {
            if (results != null) {
                results.close();
            }
        }
    }
}
