package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One engine per executor JVM and model, loaded on first use and shared by every task of the executor (their requests
 * join one continuous batch), closed when the JVM stops. Also the JVM's one Arrow {@link RootAllocator}, from which
 * each task opens a named child.
 *
 * <p>Why static: Spark loads the application jar once per executor JVM with one class loader shared by all tasks, so
 * a static field is exactly "one per executor". Loading happens under the class lock: a second task asking for the
 * same model waits for the first load rather than starting another (loading maps the weights and warms the kernels).
 */
public final class ExecutorEngines {

    private static final Logger LOG = LoggerFactory.getLogger(ExecutorEngines.class);

    /** Upper bound of Arrow memory for all tasks of this JVM; override with -Dmixtral.arrow.limit=BYTES. */
    public static final long DEFAULT_ARROW_LIMIT = 1L << 30;

    private static final Map<ModelSpec, Engine> ENGINES = new LinkedHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();
    private static EngineFactory factory = EngineFactory.REAL;
    private static RootAllocator allocator;
    private static boolean hookInstalled;

    private ExecutorEngines() {
    }

    /** The engine for {@code spec} in this JVM, loading it on first use. */
    public static synchronized Engine get(ModelSpec spec) {
        Objects.requireNonNull(spec, "spec");
        Engine e = ENGINES.get(spec);
        if (e != null) {
            return e;
        }
        installShutdownHook();
        EngineOptions options = spec.engineOptions();
        long t0 = System.nanoTime();
        e = factory.open(spec);
        ENGINES.put(spec, e);
        int n = LOADS.incrementAndGet();
        LOG.info("Loaded engine #{} in this JVM (pid {}): {} on {}, {} threads, batch {}, in {} ms", n,
                ProcessHandle.current().pid(), e.model().name(), e.model().device(), options.effectiveThreads(),
                options.maxBatchSize(), (System.nanoTime() - t0) / 1_000_000);
        return e;
    }

    /** How many engines this JVM has loaded since it started (the job summary reports it per executor). */
    public static int loads() {
        return LOADS.get();
    }

    /** The JVM's Arrow root allocator; tasks take named children of it and close them. */
    public static synchronized BufferAllocator allocator() {
        if (allocator == null) {
            long limit = Long.getLong("mixtral.arrow.limit", DEFAULT_ARROW_LIMIT);
            allocator = new RootAllocator(limit);
            installShutdownHook();
        }
        return allocator;
    }

    /** Closes every engine (pending requests end with ERROR). Safe to call more than once. */
    public static synchronized void closeAll() {
        for (Map.Entry<ModelSpec, Engine> en : ENGINES.entrySet()) {
            try {
                en.getValue().close();
            } catch (RuntimeException ex) {
                LOG.warn("Closing the engine for {} failed", en.getKey().path(), ex);
            }
        }
        ENGINES.clear();
    }

    /**
     * Replaces how engines are opened, for tests that run without a model (the returned handle restores the real
     * factory and closes the engines it opened). Production code never calls this.
     */
    public static synchronized AutoCloseable useFactoryForTests(EngineFactory f) {
        closeAll();
        factory = Objects.requireNonNull(f);
        return () -> {
            synchronized (ExecutorEngines.class) {
                closeAll();
                factory = EngineFactory.REAL;
            }
        };
    }

    private static void installShutdownHook() {
        if (hookInstalled) {
            return;
        }
        hookInstalled = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closeAll();
            synchronized (ExecutorEngines.class) {
                if (allocator != null && allocator.getAllocatedMemory() == 0) {
                    allocator.close();
                }
            }
        }, "mixtral-engines-shutdown"));
    }
}
