package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * jinja2's built-in filters that chat templates use, with transformers' {@code tojson}. An unknown filter name is a
 * parse error, as in jinja2. Left out on purpose: {@code random} and {@code shuffle}-like filters (a prompt must
 * render the same every time), and filters that format for HTML pages or URLs.
 */
final class Filters {

    private static final Set<String> NAMES = Set.of("abs", "attr", "batch", "capitalize", "center", "count", "d", "default",
            "dictsort", "e", "escape", "first", "float", "format", "groupby", "indent", "int", "items", "join", "last",
            "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
            "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper",
            "wordcount");

    private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

    private Filters() {
    }

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    static Object apply(String name, Object v, List<Object> a, Map<String, Object> k, Renderer r) {
        switch (name) {
            case "default":
            case "d": {
                Object fallback = arg(a, k, 0, "default_value", "");
                boolean bool = Py.truthy(arg(a, k, 1, "boolean", false));
                return v instanceof Undefined || bool && !Py.truthy(v) ? fallback : v;
            }
            case "trim": {
                Object chars = arg(a, k, 0, "chars", null);
                String s = Py.str(v, r);
                return Py.strip(s, chars == null ? null : Py.str(chars, r), true, true);
            }
            case "tojson":
                return Json.dumps(v, arg(a, k, 1, "indent", null), arg(a, k, 2, "separators", null),
                        Py.truthy(arg(a, k, 3, "sort_keys", false)), r);
            case "length":
            case "count":
                return Py.length(v);
            case "upper": return upper(Py.str(v, r), r);
            case "lower": return lower(Py.str(v, r), r);
            case "title": return title(Py.str(v, r), r);
            case "capitalize": return capitalize(Py.str(v, r), r);
            case "string": {
                String s = Py.str(v, r);
                r.newString(s.length());
                return s;
            }
            case "safe": return v;
            case "e":
            case "escape": return escape(Py.str(v, r), r);
            case "join": {
                Object attribute = arg(a, k, 1, "attribute", null);
                List<Object> items = Py.iterate(v, r);
                if (attribute != null) {
                    items = mapAttribute(items, attribute, null, r);
                }
                return join(items, Py.str(arg(a, k, 0, "d", ""), r), r);
            }
            case "first": {
                if (v instanceof String) {
                    return ((String) v).isEmpty() ? new Undefined("No first item, sequence was empty.")
                            : Py.slice(v, 0L, 1L, null, r);
                }
                List<Object> items = Py.iterate(v, r);
                return items.isEmpty() ? new Undefined("No first item, sequence was empty.") : items.get(0);
            }
            case "last": {
                if (v instanceof String) {
                    return ((String) v).isEmpty() ? new Undefined("No last item, sequence was empty.")
                            : Py.slice(v, -1L, null, null, r);
                }
                List<Object> items = Py.iterate(v, r);
                return items.isEmpty() ? new Undefined("No last item, sequence was empty.")
                        : items.get(items.size() - 1);
            }
            case "items":
                if (v instanceof Undefined) {
                    return List.of();
                }
                if (!(v instanceof Map)) {
                    throw JinjaError.render("Can only get item pairs from a mapping.");
                }
                return items((Map<?, ?>) v, r);
            case "list": {
                List<Object> items = Py.iterate(v, r);
                r.checkItems(items.size());
                return Py.list(new ArrayList<>(items));
            }
            case "int": return toInt(v, arg(a, k, 0, "default", 0L));
            case "float": return toFloat(v, arg(a, k, 0, "default", 0.0));
            case "abs":
                if (!Py.isNumber(v)) {
                    throw JinjaError.render("bad operand type for abs(): '" + Py.typeName(v) + "'");
                }
                return v instanceof Double ? (Object) Math.abs((Double) v) : (Object) Math.abs(Py.toLong(v));
            case "round": {
                if (!Py.isNumber(v)) {
                    throw JinjaError.render("round: a number is needed, not " + Py.typeName(v));
                }
                long precision = Py.toLong(arg(a, k, 0, "precision", 0L));
                String method = Py.str(arg(a, k, 1, "method", "common"), r);
                java.math.RoundingMode mode = method.equals("ceil") ? java.math.RoundingMode.CEILING
                        : method.equals("floor") ? java.math.RoundingMode.FLOOR
                        : java.math.RoundingMode.HALF_EVEN;     // Python's round(): exact value, ties to even
                return new java.math.BigDecimal(Py.toDouble(v))
                        .setScale((int) Math.max(-300, Math.min(300, precision)), mode).doubleValue();
            }
            case "replace": {
                Object count = arg(a, k, 2, "count", null);
                return replace(Py.str(v, r), Py.str(arg(a, k, 0, "old", ""), r), Py.str(arg(a, k, 1, "new", ""), r),
                        count instanceof Long ? (Long) count : -1, r);
            }
            case "reverse": {
                if (v instanceof String) {
                    return new StringBuilder((String) v).reverse().toString();
                }
                List<Object> items = new ArrayList<>(Py.iterate(v, r));
                java.util.Collections.reverse(items);
                return Py.list(items);
            }
            case "selectattr":
            case "rejectattr":
            case "select":
            case "reject":
                return select(name, v, a, r);
            case "map": return map(v, a, k, r);
            case "sort": {
                List<Object> items = new ArrayList<>(Py.iterate(v, r));
                boolean reverse = Py.truthy(arg(a, k, 0, "reverse", false));
                boolean caseSensitive = Py.truthy(arg(a, k, 1, "case_sensitive", false));
                Object attribute = arg(a, k, 2, "attribute", null);
                items.sort(order(attribute, caseSensitive, r));
                if (reverse) {
                    java.util.Collections.reverse(items);
                }
                return Py.list(items);
            }
            case "dictsort": {
                if (!(v instanceof Map)) {
                    throw JinjaError.render("dictsort: a mapping is needed");
                }
                boolean caseSensitive = Py.truthy(arg(a, k, 0, "case_sensitive", false));
                String by = Py.str(arg(a, k, 1, "by", "key"), r);
                boolean reverse = Py.truthy(arg(a, k, 2, "reverse", false));
                List<Object> pairs = new ArrayList<>(items((Map<?, ?>) v, r));
                Object index = by.equals("value") ? 1L : 0L;
                pairs.sort(order(index, caseSensitive, r));
                if (reverse) {
                    java.util.Collections.reverse(pairs);
                }
                return Py.list(pairs);
            }
            case "unique": {
                boolean caseSensitive = Py.truthy(arg(a, k, 0, "case_sensitive", false));
                Object attribute = arg(a, k, 1, "attribute", null);
                List<Object> out = new ArrayList<>();
                List<Object> seen = new ArrayList<>();
                for (Object item : Py.iterate(v, r)) {
                    Object key = sortKey(attribute == null ? item : attribute(item, attribute, r), caseSensitive);
                    boolean dup = false;
                    for (Object s : seen) {
                        r.step();
                        if (Py.eq(s, key, r, 0)) {
                            dup = true;
                            break;
                        }
                    }
                    if (!dup) {
                        seen.add(key);
                        out.add(item);
                    }
                }
                return Py.list(out);
            }
            case "max":
            case "min": {
                List<Object> items = Py.iterate(v, r);
                if (items.isEmpty()) {
                    return new Undefined("No aggregated item, sequence was empty.");
                }
                boolean caseSensitive = Py.truthy(arg(a, k, 0, "case_sensitive", false));
                Comparator<Object> order = order(arg(a, k, 1, "attribute", null), caseSensitive, r);
                Object best = items.get(0);
                for (Object item : items) {
                    int c = order.compare(item, best);
                    if (name.equals("max") ? c > 0 : c < 0) {
                        best = item;
                    }
                }
                return best;
            }
            case "sum": {
                Object attribute = arg(a, k, 0, "attribute", null);
                Object total = arg(a, k, 1, "start", 0L);
                for (Object item : Py.iterate(v, r)) {
                    total = Ops.binary("+", total, attribute == null ? item : attribute(item, attribute, r), r);
                }
                return total;
            }
            case "indent": {
                Object width = arg(a, k, 0, "width", 4L);
                String pad = width instanceof String ? (String) width : " ".repeat((int) Math.max(0,
                        Math.min(256, Py.toLong(width))));
                boolean first = Py.truthy(arg(a, k, 1, "first", false));
                boolean blank = Py.truthy(arg(a, k, 2, "blank", false));
                return indent(Py.str(v, r), pad, first, blank, r);
            }
            case "center": {
                String str = Py.str(v, r);
                long width = Py.toLong(arg(a, k, 0, "width", 80L));
                int n = str.codePointCount(0, str.length());
                if (width <= n) {
                    return str;
                }
                r.newString(width);
                // Python's str.center: the odd extra space goes left when the padding is odd and the length even.
                long pad = width - n;
                long left = pad / 2 + (pad & width & 1);
                return " ".repeat((int) left) + str + " ".repeat((int) (pad - left));
            }
            case "batch": {
                long size = Py.toLong(arg(a, k, 0, "linecount", 1L));
                if (size < 1) {
                    throw JinjaError.render("batch: the size must be at least 1");
                }
                Object fill = arg(a, k, 1, "fill_with", null);
                List<Object> items = Py.iterate(v, r);
                r.checkItems(items.size() + size);
                List<Object> out = new ArrayList<>();
                for (int i = 0; i < items.size(); i += (int) Math.min(size, Integer.MAX_VALUE)) {
                    List<Object> chunk = new ArrayList<>(items.subList(i, (int) Math.min(items.size(), i + size)));
                    while (fill != null && chunk.size() < size) {
                        chunk.add(fill);
                    }
                    out.add(Py.list(chunk));
                }
                return Py.list(out);
            }
            case "groupby": {
                Object attribute = arg(a, k, 0, "attribute", null);
                Object fallback = arg(a, k, 1, "default", null);
                boolean caseSensitive = Py.truthy(arg(a, k, 2, "case_sensitive", false));
                List<Object> items = new ArrayList<>(Py.iterate(v, r));
                java.util.function.Function<Object, Object> key = item -> {
                    Object x = attribute(item, attribute, r);
                    return x instanceof Undefined && fallback != null ? fallback : x;
                };
                items.sort((x, y) -> Py.compare(sortKey(key.apply(x), caseSensitive),
                        sortKey(key.apply(y), caseSensitive), "<", r, 0));
                List<Object> groups = new ArrayList<>();
                List<Object> current = null;
                Object currentKey = null;
                for (Object item : items) {
                    Object kx = key.apply(item);
                    if (current == null || !Py.eq(sortKey(kx, caseSensitive), sortKey(currentKey, caseSensitive), r, 0)) {
                        current = new ArrayList<>();
                        currentKey = kx;
                        groups.add(new Tuple(java.util.Arrays.asList(kx, current), List.of("grouper", "list")));
                    }
                    current.add(item);
                }
                return Py.list(groups);
            }
            case "wordcount": {
                java.util.regex.Matcher words = Pattern.compile("\\w+").matcher(Py.str(v, r));
                long n = 0;
                while (words.find()) {
                    n++;
                }
                return n;
            }
            case "format": return Formats.percent(Py.str(v, r), a, r);
            case "attr": return Methods.getattr(v, Py.str(arg(a, k, 0, "name", ""), r), r);
            default: throw new IllegalStateException(name);
        }
    }

    private static Object arg(List<Object> a, Map<String, Object> k, int i, String name, Object fallback) {
        if (i < a.size()) {
            return a.get(i);
        }
        return k.containsKey(name) ? k.get(name) : fallback;
    }

    static List<Object> items(Map<?, ?> m, Renderer r) {
        r.checkItems(m.size() * 3L);
        List<Object> out = new ArrayList<>(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(new Tuple(java.util.Arrays.asList(e.getKey(), e.getValue())));
        }
        return Py.list(out);
    }

    static String upper(String s, Renderer r) {
        r.newString(s.length() * 3L);
        return s.toUpperCase(Locale.ROOT);
    }

    static String lower(String s, Renderer r) {
        r.newString(s.length() * 3L);
        return s.toLowerCase(Locale.ROOT);
    }

    static String capitalize(String s, Renderer r) {
        r.newString(s.length() * 3L);
        if (s.isEmpty()) {
            return s;
        }
        int first = s.offsetByCodePoints(0, 1);
        return s.substring(0, first).toUpperCase(Locale.ROOT) + s.substring(first).toLowerCase(Locale.ROOT);
    }

    static String title(String s, Renderer r) {
        r.newString(s.length() * 3L);
        StringBuilder sb = new StringBuilder();
        java.util.regex.Matcher m = WORD_BEGINNING.matcher(s);
        int last = 0;
        while (m.find()) {
            titleWord(s.substring(last, m.start()), sb);
            sb.append(m.group());
            last = m.end();
        }
        titleWord(s.substring(last), sb);
        return sb.toString();
    }

    private static void titleWord(String w, StringBuilder sb) {
        if (!w.isEmpty()) {
            int first = w.offsetByCodePoints(0, 1);
            sb.append(w.substring(0, first).toUpperCase(Locale.ROOT)).append(w.substring(first).toLowerCase(Locale.ROOT));
        }
    }

    static String replace(String s, String old, String replacement, long count, Renderer r) {
        long n = 0;
        if (!old.isEmpty()) {
            for (int i = s.indexOf(old); i >= 0 && (count < 0 || n < count); i = s.indexOf(old, i + old.length())) {
                n++;
                r.step();
            }
        } else {
            n = count < 0 ? s.length() + 1L : Math.min(count, s.length() + 1L);
        }
        r.newString(s.length() + n * (replacement.length() - old.length()));
        StringBuilder sb = new StringBuilder();
        if (old.isEmpty()) {
            for (int i = 0; i <= s.length(); i++) {
                if (i < n) {
                    sb.append(replacement);
                }
                if (i < s.length()) {
                    sb.append(s.charAt(i));
                }
            }
            return sb.toString();
        }
        int from = 0;
        for (long done = 0; done < n; done++) {
            int i = s.indexOf(old, from);
            sb.append(s, from, i).append(replacement);
            from = i + old.length();
        }
        sb.append(s.substring(from));
        return sb.toString();
    }

    static String join(List<Object> items, String sep, Renderer r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            r.step();
            String s = Py.str(items.get(i), r);
            r.newString((long) sb.length() + sep.length() + s.length());
            if (i > 0) {
                sb.append(sep);
            }
            sb.append(s);
        }
        return sb.toString();
    }

    private static String escape(String s, Renderer r) {
        r.newString(s.length() * 6L);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&': sb.append("&amp;"); break;
                case '<': sb.append("&lt;"); break;
                case '>': sb.append("&gt;"); break;
                case '"': sb.append("&#34;"); break;
                case '\'': sb.append("&#39;"); break;
                default: sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String indent(String s, String pad, boolean first, boolean blank, Renderer r) {
        String[] lines = s.split("\n", -1);
        r.newString(s.length() + (long) lines.length * pad.length());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                sb.append('\n');
            }
            boolean pads = (i > 0 || first) && (blank || !Py.isBlank(lines[i]));
            if (pads) {
                sb.append(pad);
            }
            sb.append(lines[i]);
        }
        return sb.toString();
    }

    private static Object toInt(Object v, Object fallback) {
        if (v instanceof Long) {
            return v;
        }
        if (v instanceof Boolean) {
            return Py.toLong(v);
        }
        if (v instanceof Double) {
            double d = (Double) v;
            return Double.isFinite(d) && Math.abs(d) < 9.2e18 ? (long) d : fallback;
        }
        if (v instanceof String) {
            String s = Py.strip((String) v, null, true, true).replace("_", "");
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                try {
                    double d = Double.parseDouble(s);
                    return Double.isFinite(d) && Math.abs(d) < 9.2e18 ? (long) d : fallback;
                } catch (NumberFormatException e2) {
                    return fallback;
                }
            }
        }
        return fallback;
    }

    private static Object toFloat(Object v, Object fallback) {
        if (Py.isNumber(v)) {
            return Py.toDouble(v);
        }
        if (v instanceof String) {
            try {
                return Double.parseDouble(Py.strip((String) v, null, true, true));
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
        return fallback;
    }

    /** jinja2's attribute getter: {@code "a.b.0"} walks items and attributes. */
    static Object attribute(Object item, Object attribute, Renderer r) {
        if (attribute instanceof Long) {
            return Methods.getitem(item, attribute, r);
        }
        Object v = item;
        for (String part : Py.str(attribute, r).split("\\.")) {
            Object key = part.matches("\\d+") ? (Object) Long.parseLong(part) : part;
            v = Methods.getitem(v, key, r);
        }
        return v;
    }

    private static List<Object> mapAttribute(List<Object> items, Object attribute, Object fallback, Renderer r) {
        List<Object> out = new ArrayList<>(items.size());
        for (Object item : items) {
            r.step();
            Object v = attribute(item, attribute, r);
            out.add(v instanceof Undefined && fallback != null ? fallback : v);
        }
        return Py.list(out);
    }

    private static Object select(String name, Object v, List<Object> a, Renderer r) {
        boolean byAttr = name.endsWith("attr");
        boolean keep = name.startsWith("select");
        List<Object> out = new ArrayList<>();
        int i = 0;
        Object attribute = null;
        if (byAttr) {
            if (a.isEmpty()) {
                throw JinjaError.render(name + " needs an attribute name");
            }
            attribute = a.get(i++);
        }
        String test = i < a.size() ? Py.str(a.get(i++), r) : null;
        if (test != null && !Tests.exists(test)) {
            throw JinjaError.render("no test named '" + test + "'");
        }
        List<Object> testArgs = a.subList(Math.min(i, a.size()), a.size());
        for (Object item : Py.iterate(v, r)) {
            r.step();
            Object x = byAttr ? attribute(item, attribute, r) : item;
            boolean passes = test == null ? Py.truthy(x) : Tests.apply(test, x, testArgs, r);
            if (passes == keep) {
                out.add(item);
            }
        }
        return Py.list(out);
    }

    private static Object map(Object v, List<Object> a, Map<String, Object> k, Renderer r) {
        List<Object> items = Py.iterate(v, r);
        if (k.containsKey("attribute")) {
            return mapAttribute(items, k.get("attribute"), k.get("default"), r);
        }
        if (a.isEmpty()) {
            throw JinjaError.render("map requires a filter argument");
        }
        String filter = Py.str(a.get(0), r);
        if (!exists(filter)) {
            throw JinjaError.render("no filter named '" + filter + "'");
        }
        List<Object> rest = a.subList(1, a.size());
        List<Object> out = new ArrayList<>(items.size());
        for (Object item : items) {
            r.step();
            out.add(apply(filter, item, rest, k, r));
        }
        return Py.list(out);
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String ? ((String) v).toLowerCase(Locale.ROOT) : v;
    }

    private static Comparator<Object> order(Object attribute, boolean caseSensitive, Renderer r) {
        return (x, y) -> {
            r.step();
            Object kx = sortKey(attribute == null ? x : attribute(x, attribute, r), caseSensitive);
            Object ky = sortKey(attribute == null ? y : attribute(y, attribute, r), caseSensitive);
            return Py.compare(kx, ky, "<", r, 0);
        };
    }

    static Map<Object, Object> copy(Map<?, ?> m) {
        return new LinkedHashMap<>(m);
    }
}
