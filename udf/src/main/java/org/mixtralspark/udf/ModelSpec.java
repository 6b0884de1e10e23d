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
 * the partition function.
 *
 * @param path          model file (GGUF) or HF checkpoint folder, as the executors see it: a path every executor can
 *                      read (shared file system), or the file name of something shipped with {@code --files} /
 *                      {@code --archives} (looked up in the executor's working folder, then through
 *                      {@link SparkFiles#get})
 * @param device        auto | cpu | cuda | cuda:N
 * @param threads       CPU threads for the engine; 0 = the cores the executor was given ({@code spark.executor.cores}),
 *                      or every processor where that is not set (local mode)
 * @param maxBatchSize  most sequences in one engine step, shared by all tasks of the executor
 * @param contextLength longest prompt + generation accepted; 0 = the model's own
 * @param weightMemory  CPU: mapped | heap | auto, where the weights live ({@link EngineOptions}); several
 *                      executors on one node share the mapped file's pages, while each keeps its own heap copy
 */
public record ModelSpec(String path, String device, int threads, int maxBatchSize, int contextLength,
                        String weightMemory) implements Serializable {

    public ModelSpec {
        Objects.requireNonNull(path, "model path");
        if (path.isBlank()) {
            throw new IllegalArgumentException("model = \"\": give the path of a GGUF file or an HF checkpoint folder");
        }
        // Validates device, threads, batch size, context length and weight memory with the engine's own messages.
        new EngineOptions(device, threads, maxBatchSize, contextLength, true).withWeightMemory(weightMemory);
    }

    public ModelSpec(String path, String device, int threads, int maxBatchSize, int contextLength) {
        this(path, device, threads, maxBatchSize, contextLength, EngineOptions.defaults().weightMemory());
    }

    public static ModelSpec of(String path) {
        EngineOptions d = EngineOptions.defaults();
        return new ModelSpec(path, d.device(), d.threads(), d.maxBatchSize(), d.contextLength(), d.weightMemory());
    }

    public ModelSpec withWeightMemory(String where) {
        return new ModelSpec(path, device, threads, maxBatchSize, contextLength, where);
    }

    public ModelSpec withDevice(String d) {
        return new ModelSpec(path, d, threads, maxBatchSize, contextLength, weightMemory);
    }

    public ModelSpec withThreads(int t) {
        return new ModelSpec(path, device, t, maxBatchSize, contextLength, weightMemory);
    }

    public ModelSpec withMaxBatchSize(int b) {
        return new ModelSpec(path, device, threads, b, contextLength, weightMemory);
    }

    public ModelSpec withContextLength(int c) {
        return new ModelSpec(path, device, threads, maxBatchSize, c, weightMemory);
    }

    /**
     * The engine options for this JVM: threads resolved against the executor's cores, and {@code cuda} against the
     * GPU Spark assigned to the task (conf/spark-gpu.conf), when it did.
     */
    public EngineOptions engineOptions() {
        int t = threads;
        if (t == 0) {
            SparkEnv env = SparkEnv.get();
            if (env != null && env.conf().contains("spark.executor.cores") && !"driver".equals(env.executorId())) {
                t = env.conf().getInt("spark.executor.cores", 0);
            }
        }
        TaskContext task = TaskContext.get();
        String d = deviceFor(device, task == null ? Map.of() : task.resourcesJMap());
        return new EngineOptions(d, t, maxBatchSize, contextLength, true).withWeightMemory(weightMemory);
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
