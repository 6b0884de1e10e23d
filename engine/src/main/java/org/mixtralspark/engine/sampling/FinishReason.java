package org.mixtralspark.engine.sampling;

/** Why a generation ended. */
public enum FinishReason {
    /** An end-of-sequence token, a stop token id or a stop string. */
    STOP,
    /** The request's {@code maxNewTokens}, or the model's context, was reached. */
    LENGTH,
    /** The request could not be run; {@link GenerationResult#error()} says why. */
    ERROR;

    /** The lower-case name used in JSON and in output tables. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
