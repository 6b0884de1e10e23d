package org.mixtralspark.engine.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of worker threads for data-parallel loops of the forward pass. Handing a loop to an
 * {@code ExecutorService} costs tens of microseconds, and a Mixtral token runs hundreds of matrix products
 * (DESIGN §5), so workers spin briefly on a generation counter before parking. The calling thread works too.
 * One loop at a time: {@link #forRange} is synchronized.
 */
public final class ThreadTeam implements AutoCloseable {

    /** The body of a parallel loop over {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    /**
     * How long a worker spins for the next loop before parking (then waking costs tens of microseconds). 200 us was
     * tried and reverted: on 2 cores a worker that spins that long starves the JIT's compiler threads, and a
     * Mixtral-shaped model then ran its first minute in slow tiers (slice F16 decode 4-13 against 15-17 tokens/s with
     * 50 us). {@code -Dmixtral.spinNanos} overrides it.
     */
    private static final long SPIN_NANOS = Long.getLong("mixtral.spinNanos", 50_000);
    /**
     * Chunks per thread a loop is cut into, at most: threads take them as they finish, so the last one to finish
     * waits on average half a chunk, 1/32 of its share.
     */
    private static final int CHUNKS_PER_THREAD = 16;

    private final int size;
    private final Thread[] workers;
    private volatile long generation;
    private volatile boolean closed;
    private volatile RangeBody body;
    private volatile int total;
    private volatile int chunk;
    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger busyWorkers = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** A team of {@code size} threads in all: the caller and {@code size - 1} workers. */
    public ThreadTeam(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("threads = " + size + ": must be >= 1");
        }
        this.size = size;
        this.workers = new Thread[size - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, name + "-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int size() {
        return size;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into chunks of at least {@code grain} items, on every thread of the
     * team, and returns when all chunks are done. An exception in any chunk is rethrown here.
     */
    public synchronized void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("thread team is closed");
        }
        int chunks = Math.min(Math.max(1, n / Math.max(1, grain)), size * CHUNKS_PER_THREAD);
        if (size == 1 || chunks == 1) {
            body.run(0, n);
            return;
        }
        this.body = body;
        this.total = n;
        this.chunk = (n + chunks - 1) / chunks;
        nextChunk.set(0);
        failure.set(null);
        busyWorkers.set(workers.length);
        generation++; // publishes the fields above (volatile write)
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runChunks();
        while (busyWorkers.get() > 0) {
            Thread.onSpinWait();
        }
        this.body = null;
        Throwable t = failure.get();
        if (t != null) {
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error err) {
                throw err;
            }
            throw new RuntimeException(t);
        }
    }

    private void runChunks() {
        RangeBody b = body;
        int n = total;
        int c = chunk;
        while (true) {
            int start = nextChunk.getAndAdd(c);
            if (start >= n) {
                return;
            }
            try {
                b.run(start, Math.min(n, start + c));
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }
    }

    private void workerLoop() {
        long seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 1_000_000);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            runChunks();
            busyWorkers.decrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
