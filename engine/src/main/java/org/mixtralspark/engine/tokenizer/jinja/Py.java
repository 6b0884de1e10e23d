package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python's semantics for the values a template handles (None as {@code null}, str, int as {@link Long}, float,
 * bool, list, dict, {@link Undefined}): truth, {@code str()}, {@code repr()}, equality, ordering and iteration, as
 * jinja2 inherits them from Python. Walks over nested values carry a depth and stop at the value-depth limit.
 */
final class Py {

    private Py() {
    }

    // ---- whitespace (Python's str.isspace) -------------------------------------------------------------------

    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || cp == 0x85 || cp == 0xA0 || cp == 0x2007 || cp == 0x202F;
    }

    static boolean isBlank(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!isSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    /** Python's {@code str.strip/lstrip/rstrip(chars)}; {@code chars} null strips whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && stripped(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && stripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    // ---- types -----------------------------------------------------------------------------------------------

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        } else if (v instanceof String) {
            return "str";
        } else if (v instanceof Boolean) {
            return "bool";
        } else if (v instanceof Long) {
            return "int";
        } else if (v instanceof Double) {
            return "float";
        } else if (v instanceof Tuple) {
            return "tuple";
        } else if (v instanceof List) {
            return "list";
        } else if (v instanceof Map) {
            return "dict";
        } else if (v instanceof Undefined) {
            return "Undefined";
        } else if (v instanceof Namespace) {
            return "Namespace";
        } else if (v instanceof LoopInfo) {
            return "LoopContext";
        }
        return "function";
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        } else if (v instanceof Boolean) {
            return (Boolean) v;
        } else if (v instanceof Long) {
            return (Long) v != 0;
        } else if (v instanceof Double) {
            return (Double) v != 0.0;
        } else if (v instanceof String) {
            return !((String) v).isEmpty();
        } else if (v instanceof List) {
            return !((List<?>) v).isEmpty();
        } else if (v instanceof Map) {
            return !((Map<?, ?>) v).isEmpty();
        }
        return true;
    }

    static List<Object> list(List<Object> items) {
        return Collections.unmodifiableList(items);
    }

    // ---- str() and repr() ------------------------------------------------------------------------------------

    /** Python's {@code str(v)}, which is what {@code {{ v }}} prints; {@link Undefined} prints as nothing. */
    static String str(Object v, Renderer r) {
        if (v instanceof String) {
            return (String) v;
        } else if (v instanceof Undefined) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        repr(v, sb, r, 0);
        return sb.toString();
    }

    static void repr(Object v, StringBuilder sb, Renderer r, int depth) {
        r.checkValueDepth(depth);
        r.checkString(sb.length());
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Boolean) {
            sb.append((Boolean) v ? "True" : "False");
        } else if (v instanceof Long) {
            sb.append(v);
        } else if (v instanceof Double) {
            sb.append(floatRepr((Double) v));
        } else if (v instanceof String) {
            stringRepr((String) v, sb);
        } else if (v instanceof List) {
            boolean tuple = v instanceof Tuple;
            sb.append(tuple ? '(' : '[');
            boolean first = true;
            for (Object item : (List<?>) v) {
                r.step();
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(item, sb, r, depth + 1);
            }
            sb.append(tuple && ((List<?>) v).size() == 1 ? "," : "").append(tuple ? ')' : ']');
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                r.step();
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(e.getKey(), sb, r, depth + 1);
                sb.append(": ");
                repr(e.getValue(), sb, r, depth + 1);
            }
            sb.append('}');
        } else if (v instanceof Undefined) {
            sb.append("Undefined");
        } else if (v instanceof Namespace) {
            sb.append("<Namespace ");
            repr(((Namespace) v).attrs, sb, r, depth + 1);
            sb.append('>');
        } else if (v instanceof LoopInfo) {
            sb.append("<LoopContext>");
        } else if (v instanceof Callable) {
            sb.append('<').append(((Callable) v).describe()).append('>');
        } else {
            throw new IllegalStateException("not a template value: " + v.getClass().getName());
        }
    }

    private static void stringRepr(String s, StringBuilder sb) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') {
                sb.append('\\').append(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append(quote);
    }

    /** Python's {@code repr(float)}: the shortest digits that read back to the same double. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String sci = null;
        for (int p = 0; p <= 17; p++) {
            String s = String.format(Locale.ROOT, "%." + p + "e", d);
            if (Double.parseDouble(s) == d) {
                sci = s;
                break;
            }
        }
        boolean negative = sci.startsWith("-");
        String body = negative ? sci.substring(1) : sci;
        int e = body.indexOf('e');
        String mantissa = body.substring(0, e).replace(".", "");
        int exp = Integer.parseInt(body.substring(e + 1));
        String digits = mantissa.replaceAll("0+$", "");
        if (digits.isEmpty()) {
            digits = "0";
        }
        StringBuilder sb = new StringBuilder(negative ? "-" : "");
        if (exp >= -4 && exp < 16) {
            if (exp < 0) {
                sb.append("0.").append("0".repeat(-exp - 1)).append(digits);
            } else if (digits.length() <= exp + 1) {
                sb.append(digits).append("0".repeat(exp + 1 - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, exp + 1).append('.').append(digits.substring(exp + 1));
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits.substring(1));
            }
            sb.append('e').append(exp < 0 ? '-' : '+');
            int a = Math.abs(exp);
            sb.append(a < 10 ? "0" + a : String.valueOf(a));
        }
        return sb.toString();
    }

    // ---- equality and order ----------------------------------------------------------------------------------

    static boolean eq(Object a, Object b, Renderer r, int depth) {
        r.checkValueDepth(depth);
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) == toDouble(b);
            }
            return toLong(a) == toLong(b);
        }
        if (a instanceof String && b instanceof String) {
            return a.equals(b);
        }
        if (a instanceof Undefined && b instanceof Undefined) {
            return true;
        }
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a;
            List<?> y = (List<?>) b;
            if (x.size() != y.size() || (a instanceof Tuple) != (b instanceof Tuple)) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                r.step();
                if (!eq(x.get(i), y.get(i), r, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a;
            Map<?, ?> y = (Map<?, ?>) b;
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                r.step();
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()), r, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    static int compare(Object a, Object b, String op, Renderer r, int depth) {
        r.checkValueDepth(depth);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return Double.compare(toDouble(a), toDouble(b));
            }
            return Long.compare(toLong(a), toLong(b));
        }
        if (a instanceof String && b instanceof String) {
            return compareCodePoints((String) a, (String) b);
        }
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a;
            List<?> y = (List<?>) b;
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                r.step();
                if (!eq(x.get(i), y.get(i), r, depth + 1)) {
                    return compare(x.get(i), y.get(i), op, r, depth + 1);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw JinjaError.render("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    static double toDouble(Object v) {
        if (v instanceof Boolean) {
            return (Boolean) v ? 1 : 0;
        }
        if (v instanceof Long || v instanceof Double) {
            return v instanceof Long ? (double) (Long) v : (Double) v;
        }
        throw JinjaError.render("expected a number, found " + typeName(v));
    }

    /** A number argument (found by fuzzing: a filter's argument left undefined reached a bare cast). */
    static long toLong(Object v) {
        if (v instanceof Boolean) {
            return (Boolean) v ? 1 : 0;
        }
        if (v instanceof Long) {
            return (Long) v;
        }
        throw JinjaError.render("expected an integer, found " + typeName(v));
    }

    // ---- sequences -------------------------------------------------------------------------------------------

    /** What a {@code for} loop walks: a list, a map's keys, a string's characters; Undefined is empty. */
    static List<Object> iterate(Object v, Renderer r) {
        if (v instanceof List) {
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) v;
            return list;
        } else if (v instanceof Map) {
            return new ArrayList<>(((Map<?, ?>) v).keySet());
        } else if (v instanceof String) {
            return chars((String) v, r);
        } else if (v instanceof Undefined) {
            return List.of();
        }
        throw JinjaError.render("'" + typeName(v) + "' object is not iterable");
    }

    static List<Object> chars(String s, Renderer r) {
        r.checkItems(s.length());
        List<Object> out = new ArrayList<>(s.length());
        s.codePoints().forEach(cp -> out.add(new String(Character.toChars(cp))));
        return out;
    }

    static long length(Object v) {
        if (v instanceof String) {
            String s = (String) v;
            return s.codePointCount(0, s.length());
        } else if (v instanceof List) {
            return ((List<?>) v).size();
        } else if (v instanceof Map) {
            return ((Map<?, ?>) v).size();
        } else if (v instanceof Undefined) {
            return 0;
        } else if (v instanceof Namespace) {
            return ((Namespace) v).attrs.size();
        }
        throw JinjaError.render("object of type '" + typeName(v) + "' has no len()");
    }

    /** Python's {@code seq[start:stop:step]} for lists and strings (by code point). */
    static Object slice(Object target, Object start, Object stop, Object step, Renderer r) {
        if (target instanceof String && (step == null || Long.valueOf(1).equals(step))) {
            return substring((String) target, start, stop, r);
        }
        List<Object> items;
        boolean string = target instanceof String;
        if (string) {
            items = chars((String) target, r);
        } else if (target instanceof List) {
            @SuppressWarnings("unchecked")
            List<Object> l = (List<Object>) target;
            items = l;
        } else if (target instanceof Undefined) {
            throw ((Undefined) target).error();
        } else {
            throw JinjaError.render("'" + typeName(target) + "' object is not subscriptable");
        }
        int n = items.size();
        long st = step == null ? 1 : index(step);
        if (st == 0) {
            throw JinjaError.render("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(index(start), n, 0, n);
            hi = stop == null ? n : clamp(index(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(index(start), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(index(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            r.step();
            out.add(items.get((int) i));
        }
        if (string) {
            StringBuilder sb = new StringBuilder();
            out.forEach(c -> sb.append((String) c));
            return sb.toString();
        }
        return list(out);
    }

    /** {@code s[start:stop]} by code point, without splitting the string into characters (it may be long). */
    private static String substring(String s, Object start, Object stop, Renderer r) {
        int n = s.codePointCount(0, s.length());
        long lo = start == null ? 0 : clamp(index(start), n, 0, n);
        long hi = stop == null ? n : clamp(index(stop), n, 0, n);
        if (hi <= lo) {
            return "";
        }
        int from = s.offsetByCodePoints(0, (int) lo);
        int to = s.offsetByCodePoints(from, (int) (hi - lo));
        r.newString(to - from);
        return s.substring(from, to);
    }

    private static long clamp(long i, int n, long min, long max) {
        if (i < 0) {
            i += n;
        }
        return Math.max(min, Math.min(max, i));
    }

    static long index(Object v) {
        if (v instanceof Long || v instanceof Boolean) {
            return toLong(v);
        }
        throw JinjaError.render("slice indices must be integers or None, not '" + typeName(v) + "'");
    }
}
