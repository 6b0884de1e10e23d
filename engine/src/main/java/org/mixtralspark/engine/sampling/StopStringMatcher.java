package org.mixtralspark.engine.sampling;

import java.util.List;

/**
 * Finds stop strings in text that arrives a token at a time, and says how much of the text is safe to emit.
 *
 * <p>A stop string may span several tokens ("\n\n" from "\n" + "\n"), so text that could be the start of a stop
 * string is held back until the next piece decides it. The invariant: the held text is the longest suffix of the
 * text so far that is a proper prefix of some stop string. Any later occurrence of a stop string must start inside
 * the held text (an occurrence starting earlier would make a longer such suffix), so emitted text never has to be
 * taken back, and emitted text never contains a stop string.
 *
 * <p>Which stop string wins: the one <em>completed</em> first when the text is read left to right (on the same last
 * character, the longer one, which starts earlier); the text is cut where it starts. With stops {"abcd", "bc"} the
 * text "abcd" is cut to "a". This makes the result independent of how the text is split into pieces: the same as
 * feeding it one character at a time, which is how a stop string ends generation as soon as it appears. (vLLM checks
 * its stop strings in list order within each new piece, which can depend on the split.)
 * The stop string itself is never emitted, as with vLLM's default {@code include_stop_str_in_output=False}.
 *
 * <p>Cost per push: O(held + new text) per stop string to search, O(sum of stop lengths squared) to find the held
 * suffix; stop strings are short. One instance per request; not thread-safe.
 */
public final class StopStringMatcher {

    private final List<String> stops;
    private String held = "";
    private boolean stopped;

    /** @param stops the stop strings (none empty); an empty list makes a matcher that passes all text through */
    public StopStringMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
        for (String s : this.stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop = \"\": a stop string must not be empty");
            }
        }
    }

    /**
     * Adds the next piece of decoded text and returns the part of the text that is now safe to emit: everything
     * before the first completed stop string when one is found (and then {@link #stopped()} is true), otherwise everything but
     * the held suffix that might still become a stop string. After a stop, every push returns "".
     */
    public String push(String newText) {
        if (stopped) {
            return "";
        }
        String text = held.concat(newText);
        int at = indexOfFirstStop(text, stops);
        if (at >= 0) {
            stopped = true;
            held = "";
            return text.substring(0, at);
        }
        int keep = longestSuffixThatStartsAStop(text);
        held = text.substring(text.length() - keep);
        return text.substring(0, text.length() - keep);
    }

    /** True once a stop string was found; the generation should end. */
    public boolean stopped() {
        return stopped;
    }

    /**
     * At the end of the generation (for a reason other than a stop string): the held text, which did not turn out
     * to be a stop string. Returns "" after a stop, or when nothing is held. Clears the held text.
     */
    public String flush() {
        String out = stopped ? "" : held;
        held = "";
        return out;
    }

    /** The text currently held back (for tests and debugging). */
    String held() {
        return held;
    }

    /**
     * Where {@code text} is cut by the first stop string completed when reading it left to right: the start of the
     * occurrence that ends first (on equal ends, the longer stop string); -1 when no stop string occurs.
     * Since no earlier stop was completed, the first occurrence of each stop string is the only one that matters.
     *
     * @throws IllegalArgumentException if a stop string is empty (it would match everywhere)
     */
    public static int indexOfFirstStop(String text, List<String> stops) {
        int bestStart = -1;
        int bestEnd = Integer.MAX_VALUE;
        for (String stop : stops) {
            if (stop.isEmpty()) {
                throw new IllegalArgumentException("stop = \"\": a stop string must not be empty");
            }
            int start = text.indexOf(stop);
            if (start >= 0) {
                int end = start + stop.length();
                if (end < bestEnd || (end == bestEnd && start < bestStart)) {
                    bestStart = start;
                    bestEnd = end;
                }
            }
        }
        return bestStart;
    }

    /** Length of the longest suffix of {@code text} that is a proper prefix of some stop string (0 if none). */
    private int longestSuffixThatStartsAStop(String text) {
        int best = 0;
        for (String stop : stops) {
            for (int len = Math.min(stop.length() - 1, text.length()); len > best; len--) {
                if (text.regionMatches(text.length() - len, stop, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
