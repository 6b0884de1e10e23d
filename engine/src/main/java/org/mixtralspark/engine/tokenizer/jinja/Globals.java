package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The functions every template sees: jinja2's {@code range}, {@code dict} and {@code namespace}, and transformers'
 * {@code raise_exception} and {@code strftime_now}. Nothing else: no {@code lipsum}, {@code cycler} or
 * {@code joiner} (no chat template uses them).
 */
final class Globals {

    private static final Map<String, Callable> BUILTINS = Map.of(
            "range", fn("range", Globals::range),
            "dict", fn("dict", (r, args, kwargs) -> {
                if (!args.isEmpty()) {
                    throw JinjaError.render("dict() takes keyword arguments only here");
                }
                r.checkItems(kwargs.size());
                return java.util.Collections.unmodifiableMap(new LinkedHashMap<Object, Object>(kwargs));
            }),
            "namespace", fn("namespace", (r, args, kwargs) -> {
                Namespace ns = new Namespace();
                for (Object a : args) {
                    if (!(a instanceof Map)) {
                        throw JinjaError.render("namespace() takes a dict or keyword arguments");
                    }
                    for (Map.Entry<?, ?> e : ((Map<?, ?>) a).entrySet()) {
                        ns.attrs.put(String.valueOf(e.getKey()), e.getValue());
                    }
                }
                ns.attrs.putAll(kwargs);
                r.checkItems(ns.attrs.size());
                return ns;
            }),
            "raise_exception", fn("raise_exception", (r, args, kwargs) -> {
                Object msg = args.isEmpty() ? kwargs.get("message") : args.get(0);
                throw new JinjaError(TemplateException.Kind.RAISED, Py.str(msg, r));
            }),
            "strftime_now", fn("strftime_now", (r, args, kwargs) -> {
                if (args.size() != 1 || !(args.get(0) instanceof String)) {
                    throw JinjaError.render("strftime_now takes one format string");
                }
                String out = Strftime.format((String) args.get(0), java.time.LocalDateTime.now());
                r.newString(out.length());
                return out;
            }));

    private Globals() {
    }

    static Object get(String name) {
        return BUILTINS.get(name);
    }

    interface Body {
        Object call(Renderer r, List<Object> args, Map<String, Object> kwargs);
    }

    static Callable fn(String name, Body body) {
        return new Callable() {
            @Override
            public Object call(Renderer r, List<Object> args, Map<String, Object> kwargs) {
                return body.call(r, args, kwargs);
            }

            @Override
            public String describe() {
                return "built-in function " + name;
            }
        };
    }

    /** Python's range, as jinja2's sandbox bounds it (at most {@link JinjaLimits#maxItems()} numbers). */
    private static Object range(Renderer r, List<Object> args, Map<String, Object> kwargs) {
        if (args.isEmpty() || args.size() > 3) {
            throw JinjaError.render("range expected 1 to 3 arguments, got " + args.size());
        }
        long[] a = new long[args.size()];
        for (int i = 0; i < a.length; i++) {
            Object v = args.get(i);
            if (!(v instanceof Long || v instanceof Boolean)) {
                throw JinjaError.render("'" + Py.typeName(v) + "' object cannot be interpreted as an integer");
            }
            a[i] = Py.toLong(v);
        }
        long start = a.length == 1 ? 0 : a[0];
        long stop = a.length == 1 ? a[0] : a[1];
        long step = a.length == 3 ? a[2] : 1;
        if (step == 0) {
            throw JinjaError.render("range() arg 3 must not be zero");
        }
        double count = Math.max(0, Math.ceil(((double) stop - start) / step));
        if (count > Integer.MAX_VALUE) {
            r.checkItems(Long.MAX_VALUE);
        }
        r.checkItems((long) count);
        List<Object> out = new ArrayList<>((int) count);
        for (long v = start; step > 0 ? v < stop : v > stop; v += step) {
            out.add(v);
        }
        return Py.list(out);
    }
}
