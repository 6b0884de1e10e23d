package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Attribute and item access, and the methods a template may call: the read-only methods of Python's str, list and
 * dict that chat templates use. This fixed table is the whole surface; a name outside it is undefined (names with
 * a leading underscore always are), and the mutating methods are refused as jinja2's ImmutableSandboxedEnvironment
 * refuses them.
 */
final class Methods {

    private static final Set<String> MUTATING = Set.of("append", "extend", "insert", "pop", "remove", "reverse",
            "sort", "clear", "popitem", "setdefault", "update", "add", "discard");

    private Methods() {
    }

    /** A map key as Python hashes it: 1, 1.0 and True are one key. */
    static Object key(Object k) {
        if (k instanceof Boolean) {
            return (Boolean) k ? 1L : 0L;
        }
        if (k instanceof Double && (Double) k == Math.rint((Double) k) && !Double.isInfinite((Double) k)) {
            return (long) (double) (Double) k;
        }
        return k;
    }

    static Object getattr(Object obj, String name, Renderer r) {
        if (obj instanceof Undefined) {
            throw ((Undefined) obj).error();
        }
        if (name.startsWith("_") || MUTATING.contains(name) && (obj instanceof List || obj instanceof Map)) {
            return new Undefined("access to attribute '" + name + "' of '" + Py.typeName(obj)
                    + "' object is unsafe.");
        }
        if (obj instanceof Namespace) {
            Map<String, Object> attrs = ((Namespace) obj).attrs;
            return attrs.containsKey(name) ? attrs.get(name)
                    : new Undefined("'Namespace' object has no attribute '" + name + "'");
        }
        if (obj instanceof LoopInfo) {
            return ((LoopInfo) obj).attr(name);
        }
        if (obj instanceof Tuple && ((Tuple) obj).names != null && ((Tuple) obj).names.contains(name)) {
            return ((Tuple) obj).get(((Tuple) obj).names.indexOf(name));
        }
        Callable method = method(obj, name);
        if (method != null) {
            return method;
        }
        if (obj instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) obj;
            if (m.containsKey(name)) {
                return m.get(name);
            }
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
    }

    static Object getitem(Object obj, Object key, Renderer r) {
        if (obj instanceof Undefined) {
            throw ((Undefined) obj).error();
        }
        if (obj instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) obj;
            Object k = key(key);
            if (m.containsKey(k)) {
                return m.get(k);
            }
        } else if ((obj instanceof List || obj instanceof String) && (key instanceof Long || key instanceof Boolean)) {
            long i = Py.toLong(key);
            if (obj instanceof List) {
                List<?> l = (List<?>) obj;
                long j = i < 0 ? i + l.size() : i;
                if (j >= 0 && j < l.size()) {
                    return l.get((int) j);
                }
            } else {
                String s = (String) obj;
                int n = s.codePointCount(0, s.length());
                long j = i < 0 ? i + n : i;
                if (j >= 0 && j < n) {
                    int at = s.offsetByCodePoints(0, (int) j);
                    return new String(Character.toChars(s.codePointAt(at)));
                }
            }
            return new Undefined(Py.typeName(obj) + " index out of range");
        }
        if (key instanceof String) {
            return getattr(obj, (String) key, r);
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no item " + Py.str(key, r));
    }

    private static Callable method(Object obj, String name) {
        if (obj instanceof String) {
            return stringMethod((String) obj, name);
        }
        if (obj instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) obj;
            switch (name) {
                case "items": return Globals.fn("dict.items", (r, a, k) -> Filters.items(m, r));
                case "keys": return Globals.fn("dict.keys", (r, a, k) -> {
                    r.checkItems(m.size());
                    return Py.list(new ArrayList<>(m.keySet()));
                });
                case "values": return Globals.fn("dict.values", (r, a, k) -> {
                    r.checkItems(m.size());
                    return Py.list(new ArrayList<>(m.values()));
                });
                case "get": return Globals.fn("dict.get", (r, a, k) -> {
                    if (a.isEmpty()) {
                        throw JinjaError.render("get expected at least 1 argument, got 0");
                    }
                    Object key = key(a.get(0));
                    return m.containsKey(key) ? m.get(key) : a.size() > 1 ? a.get(1) : null;
                });
                default: return null;
            }
        }
        if (obj instanceof List) {
            List<?> l = (List<?>) obj;
            switch (name) {
                case "index": return Globals.fn("list.index", (r, a, k) -> {
                    for (int i = 0; i < l.size(); i++) {
                        r.step();
                        if (!a.isEmpty() && Py.eq(l.get(i), a.get(0), r, 0)) {
                            return (long) i;
                        }
                    }
                    throw JinjaError.render("value is not in list");
                });
                case "count": return Globals.fn("list.count", (r, a, k) -> {
                    long n = 0;
                    for (Object o : l) {
                        r.step();
                        if (!a.isEmpty() && Py.eq(o, a.get(0), r, 0)) {
                            n++;
                        }
                    }
                    return n;
                });
                default: return null;
            }
        }
        return null;
    }

    private static Callable stringMethod(String s, String name) {
        switch (name) {
            case "strip": return Globals.fn("str.strip", (r, a, k) -> Py.strip(s, chars(a), true, true));
            case "lstrip": return Globals.fn("str.lstrip", (r, a, k) -> Py.strip(s, chars(a), true, false));
            case "rstrip": return Globals.fn("str.rstrip", (r, a, k) -> Py.strip(s, chars(a), false, true));
            case "upper": return Globals.fn("str.upper", (r, a, k) -> Filters.upper(s, r));
            case "lower": return Globals.fn("str.lower", (r, a, k) -> Filters.lower(s, r));
            case "title": return Globals.fn("str.title", (r, a, k) -> Filters.title(s, r));
            case "capitalize": return Globals.fn("str.capitalize", (r, a, k) -> Filters.capitalize(s, r));
            case "startswith": return Globals.fn("str.startswith", (r, a, k) -> affix(s, a, true));
            case "endswith": return Globals.fn("str.endswith", (r, a, k) -> affix(s, a, false));
            case "split": return Globals.fn("str.split", (r, a, k) -> split(s, a, k, r));
            case "splitlines": return Globals.fn("str.splitlines", (r, a, k) -> {
                r.checkItems(s.chars().filter(c -> c == '\n' || c == '\r').count() + 1);
                List<Object> out = new ArrayList<>(List.of((Object[]) s.split("\r\n|\n|\r", -1)));
                if (!out.isEmpty() && ((String) out.get(out.size() - 1)).isEmpty()) {
                    out.remove(out.size() - 1);
                }
                r.checkItems(out.size());
                return Py.list(out);
            });
            case "replace": return Globals.fn("str.replace", (r, a, k) -> {
                if (a.size() < 2 || !(a.get(0) instanceof String) || !(a.get(1) instanceof String)) {
                    throw JinjaError.render("replace() takes two strings");
                }
                long count = a.size() > 2 && a.get(2) instanceof Long ? (Long) a.get(2) : -1;
                return Filters.replace(s, (String) a.get(0), (String) a.get(1), count, r);
            });
            case "find": return Globals.fn("str.find", (r, a, k) -> {
                if (a.isEmpty() || !(a.get(0) instanceof String)) {
                    throw JinjaError.render("find() takes a string");
                }
                int i = s.indexOf((String) a.get(0));
                return (long) (i < 0 ? -1 : s.codePointCount(0, i));
            });
            case "count": return Globals.fn("str.count", (r, a, k) -> {
                if (a.isEmpty() || !(a.get(0) instanceof String)) {
                    throw JinjaError.render("count() takes a string");
                }
                String sub = (String) a.get(0);
                if (sub.isEmpty()) {
                    return (long) s.codePointCount(0, s.length()) + 1;
                }
                long n = 0;
                for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
                    n++;
                }
                return n;
            });
            case "join": return Globals.fn("str.join", (r, a, k) -> {
                if (a.isEmpty()) {
                    throw JinjaError.render("join() takes exactly one argument");
                }
                return Filters.join(Py.iterate(a.get(0), r), s, r);
            });
            case "isdigit": return Globals.fn("str.isdigit",
                    (r, a, k) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit));
            case "isalpha": return Globals.fn("str.isalpha",
                    (r, a, k) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter));
            case "isspace": return Globals.fn("str.isspace", (r, a, k) -> !s.isEmpty() && Py.isBlank(s));
            case "islower": return Globals.fn("str.islower",
                    (r, a, k) -> s.codePoints().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase()));
            case "isupper": return Globals.fn("str.isupper",
                    (r, a, k) -> s.codePoints().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase()));
            default: return null;
        }
    }

    private static String chars(List<Object> args) {
        if (args.isEmpty() || args.get(0) == null) {
            return null;
        }
        if (!(args.get(0) instanceof String)) {
            throw JinjaError.render("strip arg must be None or str");
        }
        return (String) args.get(0);
    }

    private static boolean affix(String s, List<Object> args, boolean prefix) {
        if (args.isEmpty()) {
            throw JinjaError.render((prefix ? "startswith" : "endswith") + "() takes at least 1 argument");
        }
        Object a = args.get(0);
        List<?> options = a instanceof List ? (List<?>) a : List.of(a == null ? "" : a);
        for (Object o : options) {
            if (!(o instanceof String)) {
                throw JinjaError.render((prefix ? "startswith" : "endswith") + " first arg must be str or a tuple"
                        + " of str, not " + Py.typeName(o));
            }
            if (prefix ? s.startsWith((String) o) : s.endsWith((String) o)) {
                return true;
            }
        }
        return false;
    }

    private static Object split(String s, List<Object> args, Map<String, Object> kwargs, Renderer r) {
        Object sep = !args.isEmpty() ? args.get(0) : kwargs.get("sep");
        Object max = args.size() > 1 ? args.get(1) : kwargs.getOrDefault("maxsplit", -1L);
        long maxsplit = max instanceof Long ? (Long) max : -1;
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && Py.isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxsplit >= 0 && out.size() >= maxsplit) {
                    out.add(Py.rstrip(s.substring(i)));
                    break;
                }
                int j = i;
                while (j < n && !Py.isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                r.checkItems(out.size());
                i = j;
            }
        } else {
            if (!(sep instanceof String) || ((String) sep).isEmpty()) {
                throw JinjaError.render("split: the separator must be a non-empty string");
            }
            String d = (String) sep;
            int i = 0;
            while (true) {
                int j = s.indexOf(d, i);
                if (j < 0 || maxsplit >= 0 && out.size() >= maxsplit) {
                    out.add(s.substring(i));
                    break;
                }
                out.add(s.substring(i, j));
                r.checkItems(out.size());
                i = j + d.length();
            }
        }
        r.charge(s.length());
        return Py.list(out);
    }
}
