package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * The engine's side of the Arrow exchange: reads a request batch, submits every request to the engine at once (so
 * they join its running batch, next to other tasks' requests), and writes the results as a result batch.
 */
public final class ArrowEngineRunner {

    private final Engine engine;

    public ArrowEngineRunner(Engine engine) {
        this.engine = engine;
    }

    /** Submits the batch's requests; the batch itself may be closed as soon as this returns. */
    public Pending submit(ArrowRequestBatch batch) {
        List<GenerationRequest> requests = batch.toRequests();
        List<CompletableFuture<Timed>> futures = new ArrayList<>(requests.size());
        for (GenerationRequest r : requests) {
            long t0 = System.nanoTime();
            CompletableFuture<List<GenerationResult>> f;
            try {
                // n samples of a request share one prefill of its prompt (n = 1 is a plain submit)
                f = engine.submitN(r);
            } catch (RuntimeException e) {
                // The engine promises to complete a request with ERROR rather than throw; hold it to that here too.
                f = CompletableFuture.completedFuture(List.of(GenerationResult.failed(r.id(), r.promptIds(),
                        "the engine refused the request: " + e)));
            }
            futures.add(f.handle((res, ex) -> new Timed(
                    res != null ? res : List.of(GenerationResult.failed(r.id(), r.promptIds(), "the engine failed: "
                            + cause(ex))),
                    (System.nanoTime() - t0) / 1_000_000)));
        }
        return new Pending(futures, engine.tokenizer()::piece);
    }

    private static String cause(Throwable ex) {
        Throwable c = ex;
        while ((c instanceof CompletionException || c instanceof CancellationException) && c.getCause() != null) {
            c = c.getCause();
        }
        return String.valueOf(c);
    }

    private record Timed(List<GenerationResult> samples, long latencyMs) {
    }

    /** Requests in the engine. */
    public static final class Pending {
        private final List<CompletableFuture<Timed>> futures;
        private final IntFunction<String> piece;

        private Pending(List<CompletableFuture<Timed>> futures, IntFunction<String> piece) {
            this.futures = futures;
            this.piece = piece;
        }

        /** Waits for every request and writes the results into a batch from {@code allocator}. */
        public ArrowResultBatch await(BufferAllocator allocator) {
            return await(allocator, () -> { });
        }

        /**
         * Like {@link #await(BufferAllocator)}, calling {@code whileWaiting} every 200 ms (it may throw to give up,
         * as Spark's {@code killTaskIfInterrupted} does). An interrupt gives up too.
         */
        public ArrowResultBatch await(BufferAllocator allocator, Runnable whileWaiting) {
            List<List<GenerationResult>> results = new ArrayList<>(futures.size());
            long[] latency = new long[futures.size()];
            try {
                for (int i = 0; i < futures.size(); i++) {
                    Timed t = null;
                    while (t == null) {
                        try {
                            t = futures.get(i).get(200, TimeUnit.MILLISECONDS);
                        } catch (TimeoutException stillRunning) {
                            whileWaiting.run();
                        }
                    }
                    results.add(t.samples());
                    latency[i] = t.latencyMs();
                }
            } catch (InterruptedException e) {
                abandon();
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for the engine");
            } catch (ExecutionException e) {
                // handle() above turns every failure into a result; this cannot happen.
                throw new IllegalStateException(e);
            } catch (RuntimeException e) {
                abandon();
                throw e;
            }
            return ArrowResultBatch.ofSamples(allocator, results, latency, piece);
        }

        public int size() {
            return futures.size();
        }

        /** Stops waiting (the task is going away); the engine finishes or drops the requests on its own. */
        public void abandon() {
            for (CompletableFuture<Timed> f : futures) {
                f.cancel(false);
            }
        }
    }
}
