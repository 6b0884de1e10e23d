package org.mixtralspark.engine.serving;

/**
 * Counters of an engine since it was opened.
 *
 * @param requests         requests finished (any finish reason)
 * @param promptTokens     prompt tokens evaluated
 * @param generatedTokens  tokens generated
 * @param steps            forward steps run
 * @param busyNanos        time spent in forward steps
 */
public record EngineStats(long requests, long promptTokens, long generatedTokens, long steps, long busyNanos) {
}
