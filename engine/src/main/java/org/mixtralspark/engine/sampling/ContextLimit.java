package org.mixtralspark.engine.sampling;

/**
 * The one context-length rule, for every caller (engine, CLI, Spark job, Transformer), as vLLM's offline {@code LLM}
 * applies it: a prompt that leaves no room for one new token (prompt tokens >= context length) is an error; any
 * shorter prompt runs, and its generation stops with {@link FinishReason#LENGTH} when prompt + generated tokens reach
 * the context length, whatever {@code max_new_tokens} asked for.
 *
 * <p>Here, in the sampling layer, because {@link StopConditions} applies the second half on every token and the
 * serving layer and the udf apply the first half before a request runs; everything above can see this package.
 */
public final class ContextLimit {

    private ContextLimit() {
    }

    /**
     * Why a prompt of {@code promptTokens} cannot run in a context of {@code contextLength} positions, or null when it
     * can (it leaves room for at least one new token). The message gives both counts and what to change.
     */
    public static String promptError(int promptTokens, int contextLength) {
        if (promptTokens < contextLength) {
            return null;
        }
        return tooLong("the prompt has " + promptTokens + " tokens", contextLength);
    }

    /**
     * Why a prompt known (without tokenizing it) to have at least {@code minTokens} tokens cannot run, or null when
     * that lower bound leaves room for a new token (the prompt may still be too long once tokenized).
     *
     * @param why how the lower bound was found, e.g. "5000000 bytes of text, at most 48 bytes a token"
     */
    public static String promptErrorAtLeast(long minTokens, int contextLength, String why) {
        if (minTokens < contextLength) {
            return null;
        }
        return tooLong("the prompt has at least " + minTokens + " tokens (" + why + ")", contextLength);
    }

    private static String tooLong(String prompt, int contextLength) {
        return prompt + ", but the context length is " + contextLength
                + " (prompt + generated tokens): no room for a new token; shorten the prompt to at most "
                + (contextLength - 1) + " tokens";
    }

    /** Whether a sequence of {@code promptTokens} + {@code generated} tokens has filled the context: it ends LENGTH. */
    public static boolean reached(int promptTokens, int generated, int contextLength) {
        return promptTokens + generated >= contextLength;
    }
}
