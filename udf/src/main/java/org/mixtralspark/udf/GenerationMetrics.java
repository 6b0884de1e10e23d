package org.mixtralspark.udf;

import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.mixtralspark.engine.serving.RoutingCounts;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Named accumulators the partition function adds to, visible in the Spark UI while the job runs and read by the job's
 * summary at the end. Updates made in the tasks of a write (an action) are counted once per task, retries excluded.
 */
public final class GenerationMetrics implements Serializable {

    private final LongAccumulator rows;
    private final LongAccumulator ok;
    private final LongAccumulator errors;
    private final LongAccumulator promptTokens;
    private final LongAccumulator completionTokens;
    private final LongAccumulator cachedPromptTokens;
    /** One entry per finished task: "executorId\tpid\tengineLoadsInThatJvm". */
    private final CollectionAccumulator<String> engineLoads;
    /** One entry per finished task: its engine's routing counts when the task started and when it ended. */
    private final CollectionAccumulator<RoutingSpan> routing;

    /**
     * An engine's expert routing counts at a task's start and end. The engine is shared by the executor's
     * concurrent tasks, so a task's own share cannot be told apart; but the engine's counts only grow, so its tokens
     * during the job are its latest end snapshot minus its earliest start snapshot.
     *
     * @param engine the engine: executor id, process id and the engine's identity in that process
     */
    record RoutingSpan(String engine, RoutingCounts start, RoutingCounts end) implements Serializable {
    }

    private GenerationMetrics(SparkContext sc) {
        rows = sc.longAccumulator("mixtral rows");
        ok = sc.longAccumulator("mixtral rows ok");
        errors = sc.longAccumulator("mixtral rows error");
        promptTokens = sc.longAccumulator("mixtral prompt tokens");
        completionTokens = sc.longAccumulator("mixtral completion tokens");
        cachedPromptTokens = sc.longAccumulator("mixtral cached prompt tokens");
        engineLoads = sc.collectionAccumulator("mixtral engine loads");
        routing = sc.collectionAccumulator(); // unnamed: the Spark UI would print arrays
    }

    /** Registers a fresh set of accumulators with {@code sc}. */
    public static GenerationMetrics register(SparkContext sc) {
        return new GenerationMetrics(sc);
    }

    void addRow(boolean isOk, int prompt, int completion, int cachedPrompt) {
        rows.add(1);
        (isOk ? ok : errors).add(1);
        promptTokens.add(prompt);
        completionTokens.add(completion);
        cachedPromptTokens.add(cachedPrompt);
    }

    void addEngineLoads(String executorId, long pid, int loads) {
        engineLoads.add(executorId + "\t" + pid + "\t" + loads);
    }

    void addRouting(String engine, RoutingCounts start, RoutingCounts end) {
        routing.add(new RoutingSpan(engine, start, end));
    }

    /**
     * The expert routing counts of the job, summed over the executors' engines; unavailable (with the reason) when an
     * engine did not record them, or when no task finished.
     */
    public RoutingCounts routingCounts() {
        Map<String, RoutingSpan> perEngine = new HashMap<>();
        for (RoutingSpan s : routing.value()) {
            perEngine.merge(s.engine(), s, (a, b) -> new RoutingSpan(a.engine(),
                    earliest(a.start(), b.start()), latest(a.end(), b.end())));
        }
        return perEngine.values().stream().map(s -> s.end().minus(s.start())).reduce(RoutingCounts::plus)
                .orElse(RoutingCounts.unavailable("no task finished"));
    }

    private static RoutingCounts earliest(RoutingCounts a, RoutingCounts b) {
        return !a.available() ? a : !b.available() ? b : a.total() <= b.total() ? a : b;
    }

    private static RoutingCounts latest(RoutingCounts a, RoutingCounts b) {
        return !a.available() ? a : !b.available() ? b : a.total() >= b.total() ? a : b;
    }

    /**
     * The ids of the row, error and completion-token accumulators: the driver finds a running task's partial counts
     * under them in the executors' heartbeats (the accumulators themselves are merged only when a task ends).
     */
    public LiveIds liveIds() {
        return new LiveIds(rows.id(), errors.id(), completionTokens.id());
    }

    /** Accumulator ids, as {@link #liveIds()} gives them. */
    public record LiveIds(long rows, long errors, long completionTokens) implements Serializable {
    }

    public long rows() {
        return rows.value();
    }

    public long ok() {
        return ok.value();
    }

    public long errors() {
        return errors.value();
    }

    public long promptTokens() {
        return promptTokens.value();
    }

    public long completionTokens() {
        return completionTokens.value();
    }

    /** Prompt tokens the engines took from their prefix caches instead of computing them. */
    public long cachedPromptTokens() {
        return cachedPromptTokens.value();
    }

    /** Engine loads per executor id (the JVM's count as its last task saw it). */
    public Map<String, Integer> engineLoadsPerExecutor() {
        Map<String, Integer> out = new TreeMap<>();
        for (String s : engineLoads.value()) {
            String[] p = s.split("\t");
            out.merge(p[0], Integer.parseInt(p[2]), Math::max);
        }
        return out;
    }

    /** Process ids of the executor JVMs that ran tasks, per executor id. */
    public Map<String, Long> executorPids() {
        Map<String, Long> out = new TreeMap<>();
        for (String s : engineLoads.value()) {
            String[] p = s.split("\t");
            out.put(p[0], Long.parseLong(p[1]));
        }
        return out;
    }
}
