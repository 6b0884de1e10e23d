package org.mixtralspark.job;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.MemoryFit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * On the driver, before any task runs: can an executor hold the model? The sizes are the engine's
 * ({@link MemoryFit}, which says what is compared and why); the executor's memory is Spark's configuration of it:
 * <ul>
 *   <li>heap: in local mode the driver's own (the executors are threads of it), else {@code spark.executor.memory}
 *       (default 1g);</li>
 *   <li>beyond the heap, only under YARN and Kubernetes, which hold a container to heap + overhead:
 *       {@code spark.executor.memoryOverhead}, or {@code spark.executor.memoryOverheadFactor} (0.10) of the heap, at
 *       least {@code spark.executor.minMemoryOverhead} (384m), as Spark sizes the container.</li>
 * </ul>
 * Checked only for the CPU: {@code --device cpu}, or {@code auto} when the executors ask for no GPU
 * ({@code spark.executor.resource.gpu.amount}); on a GPU the executor's load checks the device memory. A model the
 * driver cannot see (a path only the executors have) is not checked.
 */
final class ModelFit {

    private static final Logger LOG = LoggerFactory.getLogger(ModelFit.class);

    private ModelFit() {
    }

    /** Throws a {@link JobException} naming the sizes when the model cannot fit an executor. */
    static void check(SparkContext sc, String modelPath, EngineOptions options) {
        if (!runsOnTheCpu(sc.getConf(), options) || !Files.exists(Path.of(modelPath))) {
            return;
        }
        ExecutorMemory memory = ExecutorMemory.of(sc.getConf(), sc.master(), Runtime.getRuntime().maxMemory());
        String problem;
        try (LoadedModel m = ModelLoader.load(Path.of(modelPath))) {
            MemoryFit fit = MemoryFit.of(m.config(), m.weights(), options, memory.heapBytes());
            LOG.info("memory per executor: {} bytes of weights on the heap, {} mapped, {} of KV cache; heap {} ({})",
                    fit.heapWeightBytes(), fit.mappedWeightBytes(), fit.kvCacheBytes(), memory.heapBytes(),
                    memory.heapSource());
            problem = fit.heapProblem(memory.heapBytes(), memory.heapSource());
            if (problem == null && memory.overheadBytes() >= 0) {
                problem = fit.containerProblem(memory.overheadBytes(), memory.overheadSource());
            }
        } catch (RuntimeException unreadable) {
            // the executors will say what is wrong with the model when they load it, naming the file
            LOG.debug("model not checked for fit on the driver", unreadable);
            return;
        }
        if (problem != null) {
            throw new JobException("--model " + modelPath + ": " + problem);
        }
    }

    static boolean runsOnTheCpu(SparkConf conf, EngineOptions options) {
        String device = options.device();
        if (device.equals("cpu")) {
            return true;
        }
        return device.equals("auto") && conf.getDouble("spark.executor.resource.gpu.amount", 0) <= 0;
    }

    /**
     * An executor's memory as Spark's configuration gives it.
     *
     * @param overheadBytes what a container allows beyond the heap; -1 where nothing limits the process
     */
    record ExecutorMemory(long heapBytes, String heapSource, long overheadBytes, String overheadSource) {

        static ExecutorMemory of(SparkConf conf, String master, long driverMaxHeap) {
            if (master.startsWith("local") && !master.startsWith("local-cluster")) {
                return new ExecutorMemory(driverMaxHeap, "local mode: the driver's heap, -Xmx", -1, null);
            }
            long heapMb = conf.getSizeAsMb("spark.executor.memory", "1g");
            String heapSource = "spark.executor.memory = " + conf.get("spark.executor.memory", "1g (the default)");
            if (!(master.startsWith("yarn") || master.startsWith("k8s"))) {
                return new ExecutorMemory(heapMb << 20, heapSource, -1, null);
            }
            if (conf.contains("spark.executor.memoryOverhead")) {
                return new ExecutorMemory(heapMb << 20, heapSource,
                        conf.getSizeAsMb("spark.executor.memoryOverhead", "0") << 20,
                        "spark.executor.memoryOverhead = " + conf.get("spark.executor.memoryOverhead"));
            }
            double factor = conf.getDouble("spark.executor.memoryOverheadFactor", 0.10);
            long minMb = conf.getSizeAsMb("spark.executor.minMemoryOverhead", "384m");
            long overheadMb = Math.max(minMb, (long) (factor * heapMb));
            return new ExecutorMemory(heapMb << 20, heapSource, overheadMb << 20,
                    "spark.executor.memoryOverhead unset: max(" + minMb + " MiB, " + factor + " x the heap)");
        }
    }
}
