package org.mixtralspark.engine.constrain;

import org.apache.lucene.util.automaton.Automata;
import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;

import java.util.ArrayList;
import java.util.List;

/**
 * The building blocks of compact JSON text (RFC 8259 without insignificant whitespace) as {@link Nfa} fragments:
 * strings with a content language, numbers, integers in a range, literals, and any value of bounded nesting.
 *
 * <p>Deliberate subsets, each a language whose every string is valid JSON (so generation stays valid, it only has
 * fewer ways to say a thing): a string escapes only {@code " \ b f n r t}, by their short forms, and never holds other
 * control characters; integers have at most {@link #MAX_INTEGER_DIGITS} digits and no {@code -0}; a number has at most
 * 16 integer digits, 16 fraction digits and a two-digit exponent (so that every one is a finite double).
 */
final class JsonLanguage {

    /** 18 digits: every such integer fits a signed 64-bit long, as most JSON consumers need. */
    static final int MAX_INTEGER_DIGITS = 18;
    static final long MAX_INTEGER = 999_999_999_999_999_999L;

    private JsonLanguage() {
    }

    /** One content code point range spelled as JSON string characters: raw, or escaped where JSON requires it. */
    static final Nfa.RangeEncoder STRING_CHAR = (nfa, from, min, max, to) -> {
        // raw: U+0020.. except '"' (0x22) and '\' (0x5C)
        nfa.edge(from, Math.max(min, 0x20), Math.min(max, 0x21), to);
        nfa.edge(from, Math.max(min, 0x23), Math.min(max, 0x5B), to);
        nfa.edge(from, Math.max(min, 0x5D), max, to);
        escape(nfa, from, min, max, '"', '"', to);
        escape(nfa, from, min, max, '\\', '\\', to);
        escape(nfa, from, min, max, '\n', 'n', to);
        escape(nfa, from, min, max, '\t', 't', to);
        escape(nfa, from, min, max, '\r', 'r', to);
        escape(nfa, from, min, max, '\b', 'b', to);
        escape(nfa, from, min, max, '\f', 'f', to);
    };

    private static void escape(Nfa nfa, int from, int min, int max, int cp, char letter, int to) {
        if (cp >= min && cp <= max) {
            int mid = nfa.newState();
            nfa.edge(from, '\\', '\\', mid);
            nfa.edge(mid, letter, letter, to);
        }
    }

    /** Any code point (surrogates are dropped when the edges are made). */
    static Automaton anyChar() {
        return Automata.makeCharRange(0, Character.MAX_CODE_POINT);
    }

    /**
     * The content language of a string: of {@code minLength} to {@code maxLength} code points ({@code maxLength < 0}:
     * no limit), matching {@code pattern} (null: any), deterministic.
     */
    static Automaton stringContent(Automaton pattern, int minLength, int maxLength, int workLimit) {
        Automaton lengths = maxLength < 0 ? Operations.repeat(anyChar(), minLength)
                : Operations.repeat(anyChar(), minLength, maxLength);
        Automaton a = pattern == null ? lengths : Operations.intersection(pattern, lengths);
        return Operations.determinize(Operations.removeDeadStates(a), workLimit);
    }

    /** {@code "} content {@code "}, the content spelled with {@link #STRING_CHAR}. */
    static Nfa.Frag string(Nfa nfa, Automaton content) {
        return nfa.concat(nfa.literal("\""), nfa.embed(content, STRING_CHAR), nfa.literal("\""));
    }

    /** Any JSON number: {@code -?(0|[1-9]d{0,15})(.d{1,16})?([eE][+-]?d{1,2})?}. */
    static Nfa.Frag number(Nfa nfa) {
        Nfa.Frag intPart = nfa.union(List.of(nfa.literal("0"),
                nfa.concat(nfa.range('1', '9'), digits(nfa, 0, 15))));
        Nfa.Frag fraction = nfa.optional(nfa.concat(nfa.literal("."), digits(nfa, 1, 16)));
        Nfa.Frag exponent = nfa.optional(nfa.concat(nfa.union(List.of(nfa.literal("e"), nfa.literal("E"))),
                nfa.optional(nfa.union(List.of(nfa.literal("+"), nfa.literal("-")))), digits(nfa, 1, 2)));
        return nfa.concat(nfa.optional(nfa.literal("-")), intPart, fraction, exponent);
    }

    private static Nfa.Frag digits(Nfa nfa, int min, int max) {
        return nfa.repeat(() -> nfa.range('0', '9'), min, max, null);
    }

    /**
     * The integers in [min, max] written canonically (no leading zeros, no {@code -0}); null bounds are
     * {@code ±}{@link #MAX_INTEGER}, and bounds beyond it are clamped to it. Empty (no path) when min > max.
     */
    static Nfa.Frag integer(Nfa nfa, Long min, Long max) {
        long lo = min == null ? -MAX_INTEGER : Math.max(min, -MAX_INTEGER);
        long hi = max == null ? MAX_INTEGER : Math.min(max, MAX_INTEGER);
        if (lo > hi) {
            return nfa.nothing();
        }
        List<Nfa.Frag> parts = new ArrayList<>();
        if (lo < 0) {
            // the negatives -|x| for |x| in [max(1, -hi), -lo]
            parts.add(nfa.concat(nfa.literal("-"), nonNegative(nfa, Math.max(1, -Math.min(hi, -1)), -lo)));
        }
        if (hi >= 0) {
            parts.add(nonNegative(nfa, Math.max(lo, 0), hi));
        }
        return parts.size() == 1 ? parts.get(0) : nfa.union(parts);
    }

    /** [a, b], 0 <= a <= b: split by number of digits, each length a range of equal-length digit strings. */
    private static Nfa.Frag nonNegative(Nfa nfa, long a, long b) {
        List<Nfa.Frag> parts = new ArrayList<>();
        int da = Long.toString(a).length();
        int db = Long.toString(b).length();
        for (int d = da; d <= db; d++) {
            long lo = d == da ? a : pow10(d - 1);
            long hi = d == db ? b : pow10(d) - 1;
            parts.add(sameLength(nfa, Long.toString(lo), Long.toString(hi)));
        }
        return parts.size() == 1 ? parts.get(0) : nfa.union(parts);
    }

    /** The digit strings of one length between lo and hi (both of that length), by their first digit. */
    private static Nfa.Frag sameLength(Nfa nfa, String lo, String hi) {
        if (lo.isEmpty()) {
            return nfa.empty();
        }
        char a = lo.charAt(0);
        char b = hi.charAt(0);
        String loRest = lo.substring(1);
        String hiRest = hi.substring(1);
        int n = loRest.length();
        if (a == b) {
            return nfa.concat(nfa.literal(String.valueOf(a)), sameLength(nfa, loRest, hiRest));
        }
        if (loRest.equals("0".repeat(n)) && hiRest.equals("9".repeat(n))) {
            return nfa.concat(nfa.range(a, b), digits(nfa, n, n));
        }
        List<Nfa.Frag> parts = new ArrayList<>();
        parts.add(nfa.concat(nfa.literal(String.valueOf(a)), sameLength(nfa, loRest, "9".repeat(n))));
        if (b - a >= 2) {
            parts.add(nfa.concat(nfa.range(a + 1, b - 1), digits(nfa, n, n)));
        }
        parts.add(nfa.concat(nfa.literal(String.valueOf(b)), sameLength(nfa, "0".repeat(n), hiRest)));
        return nfa.union(parts);
    }

    private static long pow10(int e) {
        long p = 1;
        for (int i = 0; i < e; i++) {
            p *= 10;
        }
        return p;
    }

    /**
     * Any JSON value with at most {@code depth} levels of objects and arrays inside it (0: scalars only). Keys and
     * strings are any strings.
     */
    static Nfa.Frag anyValue(Nfa nfa, int depth, int workLimit) {
        List<Nfa.Frag> parts = new ArrayList<>(scalars(nfa));
        if (depth > 0) {
            parts.add(anyObject(nfa, () -> anyValue(nfa, depth - 1, workLimit)));
            parts.add(array(nfa, () -> anyValue(nfa, depth - 1, workLimit), 0, -1));
        }
        return nfa.union(parts);
    }

    private static List<Nfa.Frag> scalars(Nfa nfa) {
        return List.of(string(nfa, Operations.repeat(anyChar())), number(nfa), nfa.literal("true"),
                nfa.literal("false"), nfa.literal("null"));
    }

    /** An object with any keys whose values are what {@code value} builds (one copy, shared by every member). */
    static Nfa.Frag anyObject(Nfa nfa, java.util.function.Supplier<Nfa.Frag> value) {
        return nfa.concat(nfa.literal("{"),
                nfa.repeat(() -> nfa.concat(string(nfa, Operations.repeat(anyChar())), nfa.literal(":"), value.get()),
                        0, -1, ","),
                nfa.literal("}"));
    }

    /** {@code [} items separated by commas {@code ]}, minItems to maxItems ({@code < 0}: no limit) of them. */
    static Nfa.Frag array(Nfa nfa, java.util.function.Supplier<Nfa.Frag> item, int minItems, int maxItems) {
        return nfa.concat(nfa.literal("["), nfa.repeat(item, minItems, maxItems, ","), nfa.literal("]"));
    }
}
