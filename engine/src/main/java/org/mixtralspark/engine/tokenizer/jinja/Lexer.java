package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a template into tokens the way jinja2's lexer does with transformers' settings ({@code trim_blocks} and
 * {@code lstrip_blocks} on, {@code keep_trailing_newline} off): line endings normalised to {@code \n}, one trailing
 * newline dropped, {@code -} and {@code +} whitespace control on every tag, the first newline after a block or
 * comment tag removed, and the indentation before a block or comment tag that starts a line removed.
 */
final class Lexer {

    private static final String[] OPERATORS = {"//", "**", "==", "!=", "<=", ">=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", "<", ">", "=", ".", ":", "|", ",", ";"};

    private final String src;
    private final int maxTokens;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;
    /** Whether the text consumed last ended a line (jinja2's {@code line_starting}), for lstrip_blocks. */
    private boolean lineStarting = true;

    private Lexer(String src, int maxTokens) {
        this.src = src;
        this.maxTokens = maxTokens;
    }

    static List<Token> lex(String source, int maxTokens) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        Lexer lexer = new Lexer(s, maxTokens);
        lexer.run();
        return lexer.out;
    }

    private void run() {
        while (pos < src.length()) {
            int tag = nextTag(pos);
            String text = src.substring(pos, tag < 0 ? src.length() : tag);
            if (tag < 0) {
                emitData(text);
                pos = src.length();
                break;
            }
            char kind = src.charAt(tag + 1);           // '{', '%' or '#'
            char sign = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
            boolean raw = kind == '%' && isRawBegin(tag);
            if (sign == '-') {
                text = Py.rstrip(text);
            } else if (sign != '+' && kind != '{') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.length() && Py.isBlank(text.substring(lpos))) {
                    text = text.substring(0, lpos);
                }
            }
            emitData(text);
            line += countNewlines(src, pos, tag);
            pos = tag + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            if (raw) {
                raw();
            } else if (kind == '#') {
                comment();
            } else {
                tag(kind == '{');
            }
        }
        add(Token.Type.EOF, "", null);
    }

    private int nextTag(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    private void emitData(String text) {
        if (!text.isEmpty()) {
            add(Token.Type.DATA, text, null);
        }
    }

    private void add(Token.Type type, String text, Object value) {
        if (out.size() >= maxTokens) {
            throw JinjaError.limit("more than " + maxTokens + " tokens");
        }
        out.add(new Token(type, text, value, line));
    }

    /** After an end delimiter: '-' strips all following whitespace, a block/comment end eats one newline. */
    private void afterEnd(int endStart, int endLen, boolean minus, boolean plus, boolean trims) {
        int p = endStart + endLen;
        if (minus) {
            while (p < src.length() && Py.isSpace(src.charAt(p))) {
                p++;
            }
        } else if (!plus && trims && p < src.length() && src.charAt(p) == '\n') {
            p++;
        }
        line += countNewlines(src, pos, p);
        lineStarting = p > 0 && src.charAt(p - 1) == '\n';
        pos = p;
    }

    private void comment() {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw JinjaError.syntax("a comment is not closed ('#}' missing)", line);
        }
        boolean minus = end > pos && src.charAt(end - 1) == '-';
        boolean plus = end > pos && src.charAt(end - 1) == '+';
        afterEnd(end, 2, minus, plus, true);
    }

    private boolean isRawBegin(int tag) {
        int p = tag + 2;
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) {
            p++;
        }
        while (p < src.length() && Py.isSpace(src.charAt(p))) {
            p++;
        }
        if (!src.startsWith("raw", p)) {
            return false;
        }
        p += 3;
        while (p < src.length() && Py.isSpace(src.charAt(p))) {
            p++;
        }
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) {
            p++;
        }
        return src.startsWith("%}", p);
    }

    /** {@code {% raw %}...{% endraw %}}: the text between is data, never lexed. */
    private void raw() {
        int close = src.indexOf("%}", pos);
        boolean openMinus = src.charAt(close - 1) == '-';
        boolean openPlus = src.charAt(close - 1) == '+';
        afterEnd(close, 2, openMinus, openPlus, true);
        int search = pos;
        while (true) {
            int t = src.indexOf("{%", search);
            if (t < 0) {
                throw JinjaError.syntax("{% raw %} is not closed ({% endraw %} missing)", line);
            }
            int p = t + 2;
            boolean minus = p < src.length() && src.charAt(p) == '-';
            if (minus || (p < src.length() && src.charAt(p) == '+')) {
                p++;
            }
            while (p < src.length() && Py.isSpace(src.charAt(p))) {
                p++;
            }
            if (src.startsWith("endraw", p)) {
                p += 6;
                while (p < src.length() && Py.isSpace(src.charAt(p))) {
                    p++;
                }
                boolean endMinus = p < src.length() && src.charAt(p) == '-';
                boolean endPlus = p < src.length() && src.charAt(p) == '+';
                int q = endMinus || endPlus ? p + 1 : p;
                if (src.startsWith("%}", q)) {
                    String text = src.substring(pos, t);
                    emitData(minus ? Py.rstrip(text) : text);
                    line += countNewlines(src, pos, t);
                    pos = t;
                    afterEnd(q, 2, endMinus, endPlus, true);
                    return;
                }
            }
            search = t + 2;
        }
    }

    private void tag(boolean variable) {
        add(variable ? Token.Type.VAR_BEGIN : Token.Type.BLOCK_BEGIN, variable ? "{{" : "{%", null);
        Deque<Character> brackets = new ArrayDeque<>();
        while (true) {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                if (src.charAt(pos) == '\n') {
                    line++;
                }
                pos++;
            }
            if (pos >= src.length()) {
                throw JinjaError.syntax("a tag is not closed ('" + (variable ? "}}" : "%}") + "' missing)", line);
            }
            if (brackets.isEmpty()) {
                String end = variable ? "}}" : "%}";
                if (src.startsWith("-" + end, pos)) {
                    add(variable ? Token.Type.VAR_END : Token.Type.BLOCK_END, end, null);
                    afterEnd(pos + 1, 2, true, false, !variable);
                    return;
                }
                if (!variable && src.startsWith("+" + end, pos)) {
                    add(Token.Type.BLOCK_END, end, null);
                    afterEnd(pos + 1, 2, false, true, true);
                    return;
                }
                if (src.startsWith(end, pos)) {
                    add(variable ? Token.Type.VAR_END : Token.Type.BLOCK_END, end, null);
                    afterEnd(pos, 2, false, false, !variable);
                    return;
                }
            }
            char c = src.charAt(pos);
            if (isAsciiDigit(c)) {
                number();
            } else if (Character.isLetter(c) || c == '_') {
                int start = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                add(Token.Type.NAME, src.substring(start, pos), null);
            } else if (c == '\'' || c == '"') {
                string(c);
            } else {
                operator(brackets);
            }
        }
    }

    private void operator(Deque<Character> brackets) {
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                char c = op.charAt(0);
                if (op.length() == 1 && (c == '(' || c == '[' || c == '{')) {
                    brackets.push(c == '(' ? ')' : c == '[' ? ']' : '}');
                } else if (op.length() == 1 && (c == ')' || c == ']' || c == '}')) {
                    if (brackets.isEmpty() || brackets.peek() != c) {
                        throw JinjaError.syntax("unexpected '" + c + "'", line);
                    }
                    brackets.pop();
                }
                add(Token.Type.OP, op, null);
                pos += op.length();
                return;
            }
        }
        throw JinjaError.syntax("unexpected character '" + src.charAt(pos) + "'", line);
    }

    /**
     * jinja2's number literals are ASCII ({@code [0-9]} in its lexer's regexes); {@link Character#isDigit} also takes
     * other scripts' digits, which Java's number parsing then refuses (found by fuzzing: "1.0" + U+07C2).
     */
    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void number() {
        int start = pos;
        digits();
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && isAsciiDigit(src.charAt(pos + 1))) {
            pos++;
            digits();
            isFloat = true;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && isAsciiDigit(src.charAt(pos))) {
                digits();
                isFloat = true;
            } else {
                pos = save;
            }
        }
        String text = src.substring(start, pos);
        String plain = text.replace("_", "");
        if (isFloat) {
            add(Token.Type.FLOAT, text, Double.parseDouble(plain));
        } else {
            try {
                add(Token.Type.INT, text, Long.parseLong(plain));
            } catch (NumberFormatException e) {
                throw JinjaError.syntax("integer literal too large: " + text, line);
            }
        }
    }

    private void digits() {
        while (pos < src.length() && (isAsciiDigit(src.charAt(pos))
                || (src.charAt(pos) == '_' && pos + 1 < src.length() && isAsciiDigit(src.charAt(pos + 1))))) {
            pos++;
        }
    }

    /** A Python string literal: the escapes of Python's {@code unicode-escape}, unknown ones kept as written. */
    private void string(char quote) {
        int start = pos;
        int startLine = line;
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw JinjaError.syntax("a string literal is not closed", startLine);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case '\n': line++; break;                       // a backslash-newline continues the literal
                case '\\': sb.append('\\'); break;
                case '\'': sb.append('\''); break;
                case '"': sb.append('"'); break;
                case 'n': sb.append('\n'); break;
                case 't': sb.append('\t'); break;
                case 'r': sb.append('\r'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'v': sb.append('\u000b'); break;
                case 'a': sb.append('\u0007'); break;
                case 'x': sb.appendCodePoint(hex(2)); break;
                case 'u': sb.appendCodePoint(hex(4)); break;
                case 'U': sb.appendCodePoint(hex(8)); break;
                default:
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '7'; k++) {
                            v = v * 8 + (src.charAt(pos++) - '0');
                        }
                        sb.append((char) v);
                    } else {
                        sb.append('\\').append(e);
                    }
            }
        }
        add(Token.Type.STRING, src.substring(start, pos), sb.toString());
    }

    private int hex(int n) {
        if (pos + n > src.length()) {
            throw JinjaError.syntax("truncated \\x/\\u escape in a string literal", line);
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + n), 16);
            if (!Character.isValidCodePoint(v)) {
                throw JinjaError.syntax("escape out of the Unicode range in a string literal", line);
            }
            pos += n;
            return v;
        } catch (NumberFormatException e) {
            throw JinjaError.syntax("bad \\x/\\u escape in a string literal", line);
        }
    }

    private static int countNewlines(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }
}
