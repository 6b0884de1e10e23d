package org.mixtralspark.udf;

import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.mixtralspark.engine.serving.EngineOptions;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Which model an executor should load and how: the key of {@link ExecutorEngines}. Built on the driver, shipped with
 * the partition function ({@link EngineOptions} is serializable for that).
 *
 * @param path    model file (GGUF) or HF checkpoint folder, as the executors see it: a path every executor can read
 *                (shared file system), or the file name of something shipped with {@code --files} /
 *                {@code --archives} (looked up in the executor's working folder, then through {@link SparkFiles#get})
 * @param options how to run it, as the driver was told; {@link #engineOptions()} resolves them on the executor
 *                ({@code threads} 0 = the cores the executor was given, {@code cuda} = the GPU Spark assigned)
 */
public record ModelSpec(String path, EngineOptions options) implements Serializable {

    private static final long serialVersionUID = 1L;

    public ModelSpec {
        Objects.requireNonNull(path, "model path");
        Objects.requireNonNull(options, "engine options");
        if (path.isBlank()) {
            throw new IllegalArgumentException("model = \"\": give the path of a GGUF file or an HF checkpoint folder");
        }
    }

    /** {@code path} with the engine's default options. */
    public static ModelSpec of(String path) {
        return new ModelSpec(path, EngineOptions.defaults());
    }

    public ModelSpec withOptions(EngineOptions o) {
        return new ModelSpec(path, o);
    }

    public ModelSpec withWeightMemory(String where) {
        return withOptions(options.withWeightMemory(where));
    }

    public ModelSpec withDevice(String d) {
        return withOptions(options.withDevice(d));
    }

    public ModelSpec withThreads(int t) {
        return withOptions(options.withThreads(t));
    }

    public ModelSpec withMaxBatchSize(int b) {
        return withOptions(options.withMaxBatchSize(b));
    }

    public ModelSpec withContextLength(int c) {
        return withOptions(options.withContextLength(c));
    }

    /**
     * The engine options for this JVM: threads resolved against the executor's cores, and {@code cuda} against the
     * GPU Spark assigned to the task (conf/spark-gpu.conf), when it did.
     */
    public EngineOptions engineOptions() {
        EngineOptions o = options;
        if (o.threads() == 0) {
            SparkEnv env = SparkEnv.get();
            if (env != null && env.conf().contains("spark.executor.cores") && !"driver".equals(env.executorId())) {
                o = o.withThreads(env.conf().getInt("spark.executor.cores", 0));
            }
        }
        TaskContext task = TaskContext.get();
        return o.withDevice(deviceFor(o.device(), task == null ? Map.of() : task.resourcesJMap()));
    }

    /**
     * {@code cuda} becomes {@code cuda:<address>} of the first GPU in the task's resources, so that executors sharing
     * a node each use the GPU Spark gave them. {@code auto} is left alone: it keeps its fallback to the CPU (and takes
     * device 0, which is the executor's GPU where the cluster manager sets CUDA_VISIBLE_DEVICES).
     */
    static String deviceFor(String device, Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources.get("gpu");
        if (device.equals("cuda") && gpu != null && gpu.addresses().length > 0
                && gpu.addresses()[0].matches("[0-9]{1,4}")) {
            return "cuda:" + gpu.addresses()[0];
        }
        return device;
    }

    /**
     * Where the model is in this JVM: the path as given when it exists, otherwise the file shipped under that name by
     * {@code --files}. Throws with both places named when neither exists.
     */
    public Path resolvePath() {
        Path p = Path.of(path);
        if (Files.exists(p)) {
            return p;
        }
        String name = p.getFileName() == null ? path : p.getFileName().toString();
        try {
            Path shipped = Path.of(SparkFiles.get(name));
            if (Files.exists(shipped)) {
                return shipped;
            }
        } catch (RuntimeException noSparkContext) {
            // Not inside Spark (plain JVM): only the path itself counts.
        }
        throw new IllegalArgumentException("model " + path + " not found on this executor (working folder "
                + Path.of("").toAbsolutePath() + "): put the model on a path every executor can read, or ship it with "
                + "--files " + path + " (a GGUF file) or --archives model.tgz#" + name + " (a folder)");
    }
}
