package org.mixtralspark.engine.serving;

/**
 * Counters of an engine since it was opened.
 *
 * @param requests          requests finished (any finish reason)
 * @param promptTokens      prompt tokens evaluated (recomputed ones after a pre-emption included)
 * @param generatedTokens   tokens generated
 * @param steps             forward steps run
 * @param busyNanos         time spent in forward steps
 * @param decodeSteps       steps that held only decode tokens (one per sequence, no prompt chunk)
 * @param decodeStepTokens  tokens computed in those steps
 * @param decodeStepNanos   time spent in those steps: decodeStepTokens / decodeStepNanos is the decode throughput
 * @param cachedPromptTokens prompt tokens taken from the prefix cache instead of being evaluated (at each request's
 *                          first admission)
 */
public record EngineStats(long requests, long promptTokens, long generatedTokens, long steps, long busyNanos,
                          long decodeSteps, long decodeStepTokens, long decodeStepNanos, long cachedPromptTokens) {

    public EngineStats(long requests, long promptTokens, long generatedTokens, long steps, long busyNanos,
                       long decodeSteps, long decodeStepTokens, long decodeStepNanos) {
        this(requests, promptTokens, generatedTokens, steps, busyNanos, decodeSteps, decodeStepTokens,
                decodeStepNanos, 0);
    }

    public EngineStats(long requests, long promptTokens, long generatedTokens, long steps, long busyNanos) {
        this(requests, promptTokens, generatedTokens, steps, busyNanos, 0, 0, 0);
    }

    /** The counters accumulated since {@code earlier}. */
    public EngineStats minus(EngineStats earlier) {
        return new EngineStats(requests - earlier.requests, promptTokens - earlier.promptTokens,
                generatedTokens - earlier.generatedTokens, steps - earlier.steps, busyNanos - earlier.busyNanos,
                decodeSteps - earlier.decodeSteps, decodeStepTokens - earlier.decodeStepTokens,
                decodeStepNanos - earlier.decodeStepNanos, cachedPromptTokens - earlier.cachedPromptTokens);
    }
}
