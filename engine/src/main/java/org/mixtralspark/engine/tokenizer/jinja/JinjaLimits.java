package org.mixtralspark.engine.tokenizer.jinja;

import java.time.Duration;

/**
 * The bounds every template render is held to. Each is checked <em>before</em> the work it bounds (a string is
 * measured before it is built, a nesting level before it is entered), so a hostile template meets a
 * {@link TemplateException} naming the limit, never an {@code OutOfMemoryError} or a {@code StackOverflowError}.
 *
 * <p>The defaults are set by what real chat templates need (the largest published ones are tens of kilobytes, nest
 * blocks and expressions under ten deep and render in well under a millisecond) with wide margins.
 *
 * @param maxSourceChars  longest template source (the lexer's tokens are bounded by it too)
 * @param maxNesting      deepest nesting of blocks and expressions at parse time
 * @param maxDepth        deepest evaluation (expressions, statements and macro calls together) at render time
 * @param maxValueDepth   deepest nesting of lists/maps in a value (messages in, values built by the template)
 * @param maxOutputChars  longest rendered text
 * @param maxStringChars  longest string the template may build
 * @param maxItems        most items in one list or map the template may build (and in {@code range()})
 * @param maxAllocChars   all characters (and list slots) the template may create in one render, summed
 * @param maxSteps        most evaluation steps in one render (each loop iteration, statement and expression is one)
 * @param deadline        wall-clock time one render may take
 */
public record JinjaLimits(int maxSourceChars, int maxNesting, int maxDepth, int maxValueDepth, int maxOutputChars,
                          int maxStringChars, int maxItems, long maxAllocChars, long maxSteps, Duration deadline) {

    /** The limits used for model chat templates. */
    public static final JinjaLimits DEFAULT = new JinjaLimits(
            256 << 10, 64, 400, 64, 8 << 20, 8 << 20, 100_000, 64L << 20, 1_000_000L, Duration.ofSeconds(5));

    public JinjaLimits {
        if (maxSourceChars < 1 || maxNesting < 1 || maxDepth < 1 || maxValueDepth < 1 || maxOutputChars < 1
                || maxStringChars < 1 || maxItems < 1 || maxAllocChars < 1 || maxSteps < 1
                || deadline == null || deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("every Jinja limit must be positive");
        }
    }

    /** These limits with another render deadline. */
    public JinjaLimits withDeadline(Duration d) {
        return new JinjaLimits(maxSourceChars, maxNesting, maxDepth, maxValueDepth, maxOutputChars, maxStringChars,
                maxItems, maxAllocChars, maxSteps, d);
    }

    /** These limits with another step budget. */
    public JinjaLimits withMaxSteps(long steps) {
        return new JinjaLimits(maxSourceChars, maxNesting, maxDepth, maxValueDepth, maxOutputChars, maxStringChars,
                maxItems, maxAllocChars, steps, deadline);
    }
}
