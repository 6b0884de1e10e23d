package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it: Python's {@code json.dumps(x, ensure_ascii=False,
 * indent=indent, separators=separators, sort_keys=sort_keys)}, with json's default separators ({@code ", "} and
 * {@code ": "}, or {@code ","} and {@code ": "} when indented) and its float and escape rules.
 */
final class Json {

    private final Renderer r;
    private final String indent;
    private final String itemSep;
    private final String keySep;
    private final boolean sortKeys;
    private final StringBuilder sb = new StringBuilder();

    private Json(Renderer r, String indent, String itemSep, String keySep, boolean sortKeys) {
        this.r = r;
        this.indent = indent;
        this.itemSep = itemSep;
        this.keySep = keySep;
        this.sortKeys = sortKeys;
    }

    static String dumps(Object v, Object indent, Object separators, boolean sortKeys, Renderer r) {
        String ind = null;
        if (indent instanceof Long) {
            ind = " ".repeat((int) Math.max(0, Math.min(64, (Long) indent)));
        } else if (indent instanceof String) {
            ind = (String) indent;
        } else if (indent != null && !(indent instanceof Undefined)) {
            throw JinjaError.render("tojson: indent must be an integer or a string");
        }
        String itemSep = ind == null ? ", " : ",";
        String keySep = ": ";
        if (separators instanceof List && ((List<?>) separators).size() == 2
                && ((List<?>) separators).get(0) instanceof String && ((List<?>) separators).get(1) instanceof String) {
            itemSep = (String) ((List<?>) separators).get(0);
            keySep = (String) ((List<?>) separators).get(1);
        } else if (separators != null && !(separators instanceof Undefined)) {
            throw JinjaError.render("tojson: separators must be a pair of strings");
        }
        Json j = new Json(r, ind, itemSep, keySep, sortKeys);
        j.write(v, 0);
        return j.sb.toString();
    }

    private void write(Object v, int depth) {
        r.checkValueDepth(depth);
        r.checkString(sb.length());
        r.step();
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean) {
            sb.append((Boolean) v ? "true" : "false");
        } else if (v instanceof Long) {
            sb.append(v);
        } else if (v instanceof Double) {
            double d = (Double) v;
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : Py.floatRepr(d));
        } else if (v instanceof String) {
            string((String) v);
        } else if (v instanceof List) {
            List<?> list = (List<?>) v;
            if (list.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < list.size(); i++) {
                sb.append(i == 0 ? "" : itemSep);
                newline(depth + 1);
                write(list.get(i), depth + 1);
            }
            newline(depth);
            sb.append(']');
        } else if (v instanceof Map) {
            Map<?, ?> map = (Map<?, ?>) v;
            if (map.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<? extends Map.Entry<?, ?>> entries = List.copyOf(map.entrySet());
            if (sortKeys) {
                entries = entries.stream().sorted((a, b) -> Py.compare(a.getKey(), b.getKey(), "<", r, depth + 1))
                        .collect(java.util.stream.Collectors.toList());
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                sb.append(first ? "" : itemSep);
                first = false;
                newline(depth + 1);
                Object k = e.getKey();
                if (k instanceof String) {
                    string((String) k);
                } else if (k == null || k instanceof Boolean || k instanceof Long || k instanceof Double) {
                    sb.append('"');
                    write(k, depth + 1);
                    sb.append('"');
                } else {
                    throw JinjaError.render("tojson: keys must be str, int, float, bool or None, not "
                            + Py.typeName(k));
                }
                sb.append(keySep);
                write(e.getValue(), depth + 1);
            }
            newline(depth);
            sb.append('}');
        } else {
            throw JinjaError.render("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    private void newline(int depth) {
        if (indent != null) {
            r.checkString(sb.length() + 1L + (long) depth * indent.length());
            sb.append('\n');
            for (int i = 0; i < depth; i++) {
                sb.append(indent);
            }
        }
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
