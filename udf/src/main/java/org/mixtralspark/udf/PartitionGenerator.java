package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.RoutingCounts;
import org.mixtralspark.udf.PreparedRow.ParamsUsed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One task's run of {@link GenerateFunction}: the iterator Spark pulls output rows from. Owns a child allocator of the
 * executor's root, named after the task; it is closed when the input is exhausted, and by the task-completion
 * listener when the task fails or is killed first ({@link #close()} is idempotent).
 */
final class PartitionGenerator implements Iterator<Row>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionGenerator.class);
    /** Chunks in the engine at once, per task. */
    private static final int WINDOW = 2;
    private static final long PROGRESS_EVERY_NANOS = 30_000_000_000L;

    private final GenerateFunction f;
    private final Iterator<Row> input;
    private final Engine engine;
    private final RowPreparer preparer;
    private final ArrowEngineRunner runner;
    private final BufferAllocator allocator;
    private final TaskContext task;
    private final String label;
    /** The engine's routing counts when this task began (see {@link GenerationMetrics#routingCounts}). */
    private final RoutingCounts routingAtStart;
    private final Deque<Chunk> inFlight = new ArrayDeque<>();
    private Iterator<Row> current = Collections.emptyIterator();
    private long seq;
    private boolean closed;

    private final long started = System.nanoTime();
    private long lastProgress = started;
    private long rows;
    private long ok;
    private long completionTokens;

    PartitionGenerator(GenerateFunction f, Iterator<Row> input) {
        this.f = f;
        this.input = input;
        this.task = TaskContext.get();
        this.label = task == null ? "local" : "stage " + task.stageId() + " partition " + task.partitionId()
                + " attempt " + task.attemptNumber() + " (TID " + task.taskAttemptId() + ")";
        this.engine = ExecutorEngines.get(f.model);
        this.routingAtStart = engine.routingCounts();
        this.preparer = new RowPreparer(engine, f.layout, f.defaults, f.jobSeed);
        this.runner = new ArrowEngineRunner(engine);
        this.allocator = ExecutorEngines.allocator().newChildAllocator("mixtral " + label, 0, Long.MAX_VALUE);
        if (task != null) {
            task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> close());
        }
    }

    @Override
    public boolean hasNext() {
        if (current.hasNext()) {
            return true;
        }
        while (true) {
            fill();
            Chunk next = inFlight.poll();
            if (next == null) {
                finish();
                return false;
            }
            current = collect(next);
            if (current.hasNext()) {
                return true;
            }
        }
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return current.next();
    }

    /** Reads, prepares and submits chunks until {@link #WINDOW} are in the engine or the input ends. */
    private void fill() {
        while (inFlight.size() < WINDOW && input.hasNext()) {
            List<Row> inputs = new ArrayList<>(f.batchSize);
            List<PreparedRow> prepared = new ArrayList<>(f.batchSize);
            List<GenerationRequest> requests = new ArrayList<>(f.batchSize);
            while (inputs.size() < f.batchSize && input.hasNext()) {
                Row row = input.next();
                Object id = row.get(f.layout.idIndex());
                String engineId = id + "@" + (task == null ? 0 : task.taskAttemptId()) + "." + (seq++);
                PreparedRow p = preparer.prepare(row, engineId);
                inputs.add(row);
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

    /** Waits for a chunk's results and turns them into output rows, in input order. */
    private Iterator<Row> collect(Chunk c) {
        List<Row> out = new ArrayList<>(c.inputs.size());
        ArrowResultBatch results = null;
        try {
            if (c.pending != null) {
                results = awaitInterruptibly(c.pending);
            }
            int r = 0;
            for (int i = 0; i < c.inputs.size(); i++) {
                PreparedRow p = c.prepared.get(i);
                Object[] generated;
                if (p.ok()) {
                    generated = generated(results, r++, p.shown());
                } else {
                    generated = values("", "error", 0, 0, p.error(), 0L, p.shown());
                }
                out.add(outputRow(c.inputs.get(i), generated));
            }
        } finally {
            if (results != null) {
                results.close();
            }
        }
        progress(false);
        return out.iterator();
    }

    private ArrowResultBatch awaitInterruptibly(ArrowEngineRunner.Pending pending) {
        // A killed task must not sit waiting until the engine is done: let Spark's kill flag through while waiting.
        return pending.await(allocator, task == null ? () -> { } : task::killTaskIfInterrupted);
    }

    private Object[] generated(ArrowResultBatch res, int i, ParamsUsed params) {
        String error = res.error(i);
        int prompt = res.promptTokens(i);
        int completion = res.completionTokens(i);
        return values(res.generation(i), res.finishReason(i), prompt, completion, error, res.latencyMs(i), params);
    }

    private Object[] values(String generation, String finish, int prompt, int completion, String error,
                            long latency, ParamsUsed p) {
        boolean isOk = !"error".equals(finish);
        rows++;
        if (isOk) {
            ok++;
        }
        completionTokens += completion;
        if (f.metrics != null) {
            f.metrics.addRow(isOk, prompt, completion);
        }
        return new Object[] {generation, finish, prompt, completion, error, latency, f.model.path(),
            p.maxNewTokens(), p.temperature(), p.topP(), p.topK(), p.seed(),
            p.stop() == null ? null : scala.jdk.javaapi.CollectionConverters.asScala(p.stop()).toSeq()};
    }

    private Row outputRow(Row in, Object[] generated) {
        Object[] v;
        if (f.keepInputColumns) {
            v = new Object[in.length() + generated.length];
            for (int i = 0; i < in.length(); i++) {
                v[i] = in.get(i);
            }
            System.arraycopy(generated, 0, v, in.length(), generated.length);
        } else {
            v = new Object[1 + generated.length];
            v[0] = in.get(f.layout.idIndex());
            System.arraycopy(generated, 0, v, 1, generated.length);
        }
        return RowFactory.create(v);
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
        allocator.close();
    }

    private record Chunk(List<Row> inputs, List<PreparedRow> prepared, ArrowEngineRunner.Pending pending) {
    }
}
