package org.mixtralspark.engine.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Python's operators on template values; every result's size is checked before it is built. */
final class Ops {

    private Ops() {
    }

    static Object unary(String op, Object v) {
        if (v instanceof Undefined) {
            throw ((Undefined) v).error();
        }
        if (!Py.isNumber(v)) {
            throw JinjaError.render("bad operand type for unary " + op + ": '" + Py.typeName(v) + "'");
        }
        if (op.equals("+")) {
            return v instanceof Boolean ? Py.toLong(v) : v;
        }
        if (v instanceof Double) {
            return -(Double) v;
        }
        long l = Py.toLong(v);
        if (l == Long.MIN_VALUE) {
            throw JinjaError.render("integer overflow");
        }
        return -l;
    }

    static boolean compare(String op, Object a, Object b, Renderer r) {
        switch (op) {
            case "==": return Py.eq(a, b, r, 0);
            case "!=": return !Py.eq(a, b, r, 0);
            case "<": return Py.compare(a, b, op, r, 0) < 0;
            case "<=": return Py.compare(a, b, op, r, 0) <= 0;
            case ">": return Py.compare(a, b, op, r, 0) > 0;
            case ">=": return Py.compare(a, b, op, r, 0) >= 0;
            case "in": return contains(b, a, r);
            case "not in": return !contains(b, a, r);
            default: throw new IllegalStateException(op);
        }
    }

    static boolean contains(Object container, Object item, Renderer r) {
        if (container instanceof String) {
            if (!(item instanceof String)) {
                throw JinjaError.render("'in <string>' requires string as left operand, not " + Py.typeName(item));
            }
            return ((String) container).contains((String) item);
        }
        if (container instanceof List) {
            for (Object o : (List<?>) container) {
                r.step();
                if (Py.eq(o, item, r, 0)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Map) {
            return ((Map<?, ?>) container).containsKey(Methods.key(item));
        }
        if (container instanceof Undefined) {
            throw ((Undefined) container).error();
        }
        throw JinjaError.render("argument of type '" + Py.typeName(container) + "' is not iterable");
    }

    static Object binary(String op, Object a, Object b, Renderer r) {
        if (op.equals("~")) {
            String x = Py.str(a, r);
            String y = Py.str(b, r);
            r.newString((long) x.length() + y.length());
            return x + y;
        }
        if (a instanceof Undefined) {
            throw ((Undefined) a).error();
        }
        if (b instanceof Undefined) {
            throw ((Undefined) b).error();
        }
        switch (op) {
            case "+": return add(a, b, r);
            case "-":
                if (Py.isNumber(a) && Py.isNumber(b)) {
                    if (a instanceof Double || b instanceof Double) {
                        return Py.toDouble(a) - Py.toDouble(b);
                    }
                    return exact(() -> Math.subtractExact(Py.toLong(a), Py.toLong(b)));
                }
                break;
            case "*": return multiply(a, b, r);
            case "/":
                if (Py.isNumber(a) && Py.isNumber(b)) {
                    if (Py.toDouble(b) == 0) {
                        throw JinjaError.render("division by zero");
                    }
                    return Py.toDouble(a) / Py.toDouble(b);
                }
                break;
            case "//":
                if (Py.isNumber(a) && Py.isNumber(b)) {
                    if (Py.toDouble(b) == 0) {
                        throw JinjaError.render("integer division or modulo by zero");
                    }
                    if (a instanceof Double || b instanceof Double) {
                        return Math.floor(Py.toDouble(a) / Py.toDouble(b));
                    }
                    return Math.floorDiv(Py.toLong(a), Py.toLong(b));
                }
                break;
            case "%":
                if (a instanceof String) {
                    return Formats.percent((String) a, b, r);
                }
                if (Py.isNumber(a) && Py.isNumber(b)) {
                    if (Py.toDouble(b) == 0) {
                        throw JinjaError.render("integer division or modulo by zero");
                    }
                    if (a instanceof Double || b instanceof Double) {
                        double x = Py.toDouble(a);
                        double y = Py.toDouble(b);
                        double m = x % y;
                        return m != 0 && (m < 0) != (y < 0) ? m + y : m;
                    }
                    return Math.floorMod(Py.toLong(a), Py.toLong(b));
                }
                break;
            case "**":
                if (Py.isNumber(a) && Py.isNumber(b)) {
                    if (a instanceof Double || b instanceof Double || Py.toLong(b) < 0) {
                        return Math.pow(Py.toDouble(a), Py.toDouble(b));
                    }
                    long base = Py.toLong(a);
                    long exp = Py.toLong(b);
                    long result = 1;
                    for (long i = 0; i < exp; i++) {
                        r.step();
                        long acc = result;
                        result = exact(() -> Math.multiplyExact(acc, base));
                        if (result == 0 || result == 1 && base == 1) {
                            break;
                        }
                    }
                    return result;
                }
                break;
            default:
                throw new IllegalStateException(op);
        }
        throw JinjaError.render("unsupported operand type(s) for " + op + ": '" + Py.typeName(a) + "' and '"
                + Py.typeName(b) + "'");
    }

    private static Object add(Object a, Object b, Renderer r) {
        if (Py.isNumber(a) && Py.isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return Py.toDouble(a) + Py.toDouble(b);
            }
            return exact(() -> Math.addExact(Py.toLong(a), Py.toLong(b)));
        }
        if (a instanceof String && b instanceof String) {
            r.newString((long) ((String) a).length() + ((String) b).length());
            return (String) a + b;
        }
        if (a instanceof List && b instanceof List) {
            r.checkItems((long) ((List<?>) a).size() + ((List<?>) b).size());
            if ((a instanceof Tuple) != (b instanceof Tuple)) {
                throw JinjaError.render("can only concatenate " + Py.typeName(a) + " (not \"" + Py.typeName(b)
                        + "\") to " + Py.typeName(a));
            }
            List<Object> out = new ArrayList<>((List<?>) a);
            out.addAll((List<?>) b);
            return a instanceof Tuple ? new Tuple(out) : Py.list(out);
        }
        if (a instanceof String || b instanceof String) {
            throw JinjaError.render("can only concatenate str (not \"" + Py.typeName(a instanceof String ? b : a)
                    + "\") to str");
        }
        throw JinjaError.render("unsupported operand type(s) for +: '" + Py.typeName(a) + "' and '"
                + Py.typeName(b) + "'");
    }

    private static Object multiply(Object a, Object b, Renderer r) {
        if (Py.isNumber(a) && Py.isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return Py.toDouble(a) * Py.toDouble(b);
            }
            return exact(() -> Math.multiplyExact(Py.toLong(a), Py.toLong(b)));
        }
        Object seq = a instanceof Long || a instanceof Boolean ? b : a;
        Object times = seq == a ? b : a;
        if ((seq instanceof String || seq instanceof List) && (times instanceof Long || times instanceof Boolean)) {
            long n = Math.max(0, Py.toLong(times));
            if (seq instanceof String) {
                String s = (String) seq;
                r.newString(Math.min(n, 1L << 31) * s.length());     // < 2^62: no overflow before the check
                return s.repeat((int) (s.isEmpty() ? 0 : n));
            }
            List<?> l = (List<?>) seq;
            r.checkItems(Math.min(n, 1L << 31) * l.size());
            List<Object> out = new ArrayList<>();
            for (long i = 0; i < n; i++) {
                out.addAll(l);
            }
            return Py.list(out);
        }
        throw JinjaError.render("can't multiply sequence by non-int of type '" + Py.typeName(times) + "'");
    }

    private interface LongOp {
        long apply();
    }

    private static long exact(LongOp op) {
        try {
            return op.apply();
        } catch (ArithmeticException e) {
            throw JinjaError.render("integer overflow (a chat template has no use for numbers beyond 2^63)");
        }
    }
}
