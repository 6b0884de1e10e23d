package org.mixtralspark.engine.constrain;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.RegExp;
import org.apache.lucene.util.automaton.TooComplexToDeterminizeException;

/**
 * An ECMA-262 regular expression (the dialect of JSON Schema's {@code pattern}, and of vLLM's regex format) as a Lucene
 * automaton over code points, matching whole strings. The pattern is rewritten into Lucene's {@link RegExp} syntax,
 * which Lucene compiles; the rewriting understands the common subset and refuses the rest by name (lookaround,
 * backreferences, word boundaries, Unicode property escapes, anchors inside the pattern), because Lucene's syntax and
 * semantics differ from ECMA's in exactly those places: a silent misreading would generate strings the pattern rejects.
 *
 * <p>Where ECMA and {@code java.util.regex} (what validators on the JVM run) disagree, the intersection is taken so the
 * generated string satisfies both: {@code .} excludes U+0085 as well as ECMA's line terminators; {@code \s} is the
 * ASCII whitespace both accept, {@code \S} excludes every character either calls whitespace.
 *
 * <p>Anchors: {@code ^} at the start and {@code $} at the end are dropped, since generation always produces whole
 * strings. A JSON Schema {@code pattern} without anchors matches anywhere in a string; producing a whole match is one
 * way to satisfy it.
 */
final class EcmaRegex {

    /** ECMA-262's WhiteSpace and LineTerminator code points (what {@code \s} matches there). */
    private static final String ECMA_SPACE_CLASS = "\t\n\u000B\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F"
            + "\u3000\uFEFF";
    private static final String ASCII_SPACE = "\t\n\u000B\f\r ";

    private final String pattern;
    private int pos;
    private final StringBuilder out = new StringBuilder();

    private EcmaRegex(String pattern) {
        this.pattern = pattern;
    }

    /**
     * @param what how to name the pattern in messages, e.g. {@code "pattern"}
     * @throws IllegalArgumentException naming the construct that is not supported or the syntax error
     */
    static Automaton compile(String pattern, String what, int workLimit) {
        String lucene = toLuceneSyntax(pattern, what);
        try {
            return new RegExp(lucene, RegExp.NONE).toAutomaton(workLimit);
        } catch (TooComplexToDeterminizeException e) {
            throw new IllegalArgumentException(what + " /" + pattern + "/ is too complex to compile");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " /" + pattern + "/ is not a valid regular expression: "
                    + e.getMessage());
        }
    }

    /** The pattern in Lucene's syntax (package-private for tests). */
    static String toLuceneSyntax(String pattern, String what) {
        EcmaRegex r = new EcmaRegex(pattern);
        try {
            r.translate();
        } catch (Unsupported e) {
            throw new IllegalArgumentException(what + " /" + pattern + "/: " + e.getMessage() + " at offset "
                    + r.pos + " is not supported in structured output");
        }
        return r.out.toString();
    }

    private static final class Unsupported extends RuntimeException {
        Unsupported(String message) {
            super(message, null, false, false);
        }
    }

    private void translate() {
        if (peek('^')) {
            pos++;
        }
        alternation();
        if (pos < pattern.length()) {
            throw new Unsupported(pattern.charAt(pos) == ')' ? "an unbalanced ')'" : "'" + pattern.charAt(pos) + "'");
        }
    }

    private void alternation() {
        sequence();
        while (peek('|')) {
            pos++;
            out.append('|');
            sequence();
        }
    }

    private void sequence() {
        out.append('(');
        while (pos < pattern.length() && !peek('|') && !peek(')')) {
            if (peek('$') && pos == pattern.length() - 1) {
                pos++;
                break;
            }
            int before = out.length();
            atom();
            quantifier(before);
        }
        out.append(')');
    }

    private void atom() {
        char c = pattern.charAt(pos);
        switch (c) {
            case '(' -> group();
            case '[' -> charClass();
            case '.' -> {
                pos++;
                out.append("[^").append(escapedClass("\n\r\u0085\u2028\u2029")).append(']');
            }
            case '\\' -> escape();
            case '^', '$' -> throw new Unsupported("the anchor '" + c + "' inside the pattern (only ^ at the start and $"
                    + " at the end are)");
            case '*', '+', '?' -> throw new Unsupported("a quantifier '" + c + "' with nothing to repeat");
            case '{' -> {
                if (isQuantifierAt(pos)) {
                    throw new Unsupported("a quantifier '{' with nothing to repeat");
                }
                throw new Unsupported("a literal '{' (escape it as \\{)");
            }
            case '}', ']' -> throw new Unsupported("a literal '" + c + "' (escape it as \\" + c + ")");
            default -> {
                int cp = pattern.codePointAt(pos);
                pos += Character.charCount(cp);
                literal(cp);
            }
        }
    }

    private void group() {
        pos++;
        if (pattern.startsWith("?:", pos)) {
            pos += 2;
        } else if (pattern.startsWith("?<", pos) && !pattern.startsWith("?<=", pos) && !pattern.startsWith("?<!", pos)) {
            int close = pattern.indexOf('>', pos);
            if (close < 0) {
                throw new Unsupported("an unterminated group name");
            }
            pos = close + 1;
        } else if (peek('?')) {
            throw new Unsupported("lookaround or inline flags '(" + pattern.substring(pos, Math.min(pos + 3,
                    pattern.length())) + "'");
        }
        out.append('(');
        alternation();
        if (!peek(')')) {
            throw new Unsupported("an unclosed '('");
        }
        pos++;
        out.append(')');
    }

    private void quantifier(int atomStart) {
        if (pos >= pattern.length()) {
            return;
        }
        char c = pattern.charAt(pos);
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            wrap(atomStart);
            out.append(c);
        } else if (c == '{' && isQuantifierAt(pos)) {
            int close = pattern.indexOf('}', pos);
            String body = pattern.substring(pos + 1, close);
            pos = close + 1;
            String[] parts = body.split(",", -1);
            long min = Long.parseLong(parts[0]);
            long max = parts.length == 1 ? min : parts[1].isEmpty() ? -1 : Long.parseLong(parts[1]);
            if (min > 10_000 || max > 10_000) {
                throw new Unsupported("a repetition count above 10000 {" + body + "}");
            }
            if (max >= 0 && max < min) {
                throw new Unsupported("a repetition {" + body + "} whose maximum is below its minimum");
            }
            wrap(atomStart);
            out.append('{').append(min);
            if (parts.length > 1) {
                out.append(',');
                if (max >= 0) {
                    out.append(max);
                }
            }
            out.append('}');
        } else {
            return;
        }
        if (peek('?')) {
            pos++; // lazy: the same language
        }
        if (pos < pattern.length() && (peek('*') || peek('+') || peek('?') || (peek('{') && isQuantifierAt(pos)))) {
            throw new Unsupported("a quantifier following a quantifier");
        }
    }

    /** Puts the last atom in parentheses, so that a quantifier applies to all of it in Lucene's syntax too. */
    private void wrap(int atomStart) {
        out.insert(atomStart, '(');
        out.append(')');
    }

    private boolean isQuantifierAt(int at) {
        int close = pattern.indexOf('}', at);
        return close > at + 1 && pattern.substring(at + 1, close).matches("\\d{1,9}(,\\d{0,9})?");
    }

    private void escape() {
        if (pos + 1 >= pattern.length()) {
            throw new Unsupported("a '\\' at the end");
        }
        char e = pattern.charAt(pos + 1);
        switch (e) {
            case 'd' -> { pos += 2; out.append("[0-9]"); }
            case 'D' -> { pos += 2; out.append("[^0-9]"); }
            case 'w' -> { pos += 2; out.append("[a-zA-Z0-9_]"); }
            case 'W' -> { pos += 2; out.append("[^a-zA-Z0-9_]"); }
            case 's' -> { pos += 2; out.append('[').append(escapedClass(ASCII_SPACE)).append(']'); }
            case 'S' -> { pos += 2; out.append("[^").append(escapedClass(ECMA_SPACE_CLASS)).append(']'); }
            case 'b', 'B' -> throw new Unsupported("the word boundary \\" + e);
            default -> literal(escapedChar(false));
        }
    }

    /** The code point of the escape at {@code pos} (a single character), advancing past it. */
    private int escapedChar(boolean inClass) {
        char e = pattern.charAt(pos + 1);
        pos += 2;
        switch (e) {
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'f': return '\f';
            case 'v': return 0x0B;
            case '0':
                if (pos < pattern.length() && Character.isDigit(pattern.charAt(pos))) {
                    throw new Unsupported("an octal escape");
                }
                return 0;
            case 'b':
                if (inClass) {
                    return '\b';
                }
                throw new Unsupported("the word boundary \\b");
            case 'x': return hex(2);
            case 'u':
                if (peek('{')) {
                    int close = pattern.indexOf('}', pos);
                    if (close < 0) {
                        throw new Unsupported("an unterminated \\u{");
                    }
                    String digits = pattern.substring(pos + 1, close);
                    pos = close + 1;
                    try {
                        int cp = Integer.parseInt(digits, 16);
                        if (cp > Character.MAX_CODE_POINT) {
                            throw new Unsupported("\\u{" + digits + "}, beyond U+10FFFF");
                        }
                        return cp;
                    } catch (NumberFormatException ex) {
                        throw new Unsupported("\\u{" + digits + "}");
                    }
                }
                int unit = hex(4);
                if (Character.isHighSurrogate((char) unit) && pattern.startsWith("\\u", pos)) {
                    int save = pos;
                    pos += 2;
                    int low = hex(4);
                    if (Character.isLowSurrogate((char) low)) {
                        return Character.toCodePoint((char) unit, (char) low);
                    }
                    pos = save;
                }
                return unit;
            case 'c': throw new Unsupported("a control escape \\c");
            case 'k': throw new Unsupported("a named backreference \\k");
            case 'p': case 'P': throw new Unsupported("a Unicode property escape \\" + e);
            default:
                if (e >= '1' && e <= '9') {
                    throw new Unsupported("a backreference \\" + e);
                }
                if (Character.isLetterOrDigit(e)) {
                    throw new Unsupported("the escape \\" + e);
                }
                if (Character.isHighSurrogate(e)) {
                    pos--;
                    int cp = pattern.codePointAt(pos);
                    pos += Character.charCount(cp);
                    return cp;
                }
                return e; // an identity escape of punctuation: \. \/ \- ...
        }
    }

    private int hex(int digits) {
        if (pos + digits > pattern.length()) {
            throw new Unsupported("a short hexadecimal escape");
        }
        String h = pattern.substring(pos, pos + digits);
        if (!h.matches("[0-9a-fA-F]+")) {
            throw new Unsupported("the hexadecimal escape digits '" + h + "'");
        }
        pos += digits;
        return Integer.parseInt(h, 16);
    }

    private void charClass() {
        pos++;
        boolean negated = peek('^');
        if (negated) {
            pos++;
        }
        if (peek(']')) {
            pos++;
            // ECMA: [] matches nothing, [^] any character (Lucene's '.')
            if (!negated) {
                throw new Unsupported("the empty class [], which matches nothing,");
            }
            out.append('.');
            return;
        }
        StringBuilder body = new StringBuilder();
        while (true) {
            if (pos >= pattern.length()) {
                throw new Unsupported("an unclosed '['");
            }
            if (peek(']')) {
                pos++;
                break;
            }
            int lo = classAtom(body);
            if (lo < 0) {
                continue; // a class escape such as \d, written already
            }
            if (peek('-') && pos + 1 < pattern.length() && pattern.charAt(pos + 1) != ']') {
                pos++;
                int hi = classAtom(null);
                if (hi < lo) {
                    throw new Unsupported("a character range out of order");
                }
                appendClassChar(body, lo);
                body.append('-');
                appendClassChar(body, hi);
            } else {
                appendClassChar(body, lo);
            }
        }
        out.append(negated ? "[^" : "[").append(body).append(']');
    }

    /**
     * One member of a class: returns its code point, or -1 after writing a class escape ({@code \d \w \s}) into
     * {@code body}; {@code body == null} means a class escape is not allowed here (the end of a range).
     */
    private int classAtom(StringBuilder body) {
        if (peek('\\')) {
            if (pos + 1 >= pattern.length()) {
                throw new Unsupported("a '\\' at the end");
            }
            char e = pattern.charAt(pos + 1);
            if ("dwsDWS".indexOf(e) >= 0) {
                if (body == null) {
                    throw new Unsupported("a class escape \\" + e + " as the end of a range");
                }
                if (Character.isUpperCase(e)) {
                    throw new Unsupported("the negated class escape \\" + e + " inside [...]");
                }
                pos += 2;
                body.append(e == 'd' ? "0-9" : e == 'w' ? "a-zA-Z0-9_" : escapedClass(ASCII_SPACE));
                return -1;
            }
            return escapedChar(true);
        }
        if (peek('[')) {
            throw new Unsupported("a '[' inside a class (escape it as \\[)");
        }
        int cp = pattern.codePointAt(pos);
        pos += Character.charCount(cp);
        return cp;
    }

    /** A literal code point in Lucene's syntax: letters and digits as they are, anything else escaped. */
    private void literal(int cp) {
        if (cp < 128 && Character.isLetterOrDigit(cp)) {
            out.append((char) cp);
        } else {
            out.append('\\').appendCodePoint(cp);
        }
    }

    private static void appendClassChar(StringBuilder body, int cp) {
        if (cp < 128 && Character.isLetterOrDigit(cp)) {
            body.append((char) cp);
        } else {
            body.append('\\').appendCodePoint(cp);
        }
    }

    /** The characters of {@code members} (plain characters and {@code a-b} ranges) escaped for a Lucene class. */
    private static String escapedClass(String members) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < members.length(); i++) {
            char c = members.charAt(i);
            if (c == '-' && i > 0 && i + 1 < members.length()) {
                b.append('-');
            } else {
                appendClassChar(b, c);
            }
        }
        return b.toString();
    }

    private boolean peek(char c) {
        return pos < pattern.length() && pattern.charAt(pos) == c;
    }
}
