package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;

/** Python's printf-style {@code 'text %s' % value} (and the {@code format} filter): %s, %r, %d, %i, %f and %%. */
final class Formats {

    private Formats() {
    }

    static String percent(String format, Object args, Renderer r) {
        List<?> values = args instanceof List ? (List<?>) args : List.of(args == null ? "None" : args);
        if (args == null) {
            values = java.util.Collections.singletonList(null);
        }
        StringBuilder sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            if (++i >= format.length()) {
                throw JinjaError.render("incomplete format");
            }
            char conv = format.charAt(i);
            if (conv == '%') {
                sb.append('%');
                continue;
            }
            if (next >= values.size()) {
                throw JinjaError.render("not enough arguments for format string");
            }
            Object v = values.get(next++);
            switch (conv) {
                case 's': sb.append(Py.str(v, r)); break;
                case 'r': Py.repr(v, sb, r, 0); break;
                case 'd':
                case 'i':
                    if (!Py.isNumber(v)) {
                        throw JinjaError.render("%d format: a real number is required, not " + Py.typeName(v));
                    }
                    sb.append(v instanceof Double ? (long) Math.floor((Double) v) : Py.toLong(v));
                    break;
                case 'f':
                    if (!Py.isNumber(v)) {
                        throw JinjaError.render("must be real number, not " + Py.typeName(v));
                    }
                    sb.append(String.format(java.util.Locale.ROOT, "%.6f", Py.toDouble(v)));
                    break;
                default:
                    throw JinjaError.render("unsupported format character '" + conv + "'");
            }
            r.checkString(sb.length());
        }
        if (next < values.size() && args instanceof List) {
            throw JinjaError.render("not all arguments converted during string formatting");
        }
        r.newString(sb.length());
        return sb.toString();
    }
}
