package org.mixtralspark.engine.tokenizer.jinja;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** jinja2's built-in tests ({@code x is defined}, {@code x is string}, {@code n is divisibleby 3}, ...). */
final class Tests {

    private static final Set<String> NAMES = Set.of("defined", "undefined", "none", "string", "number", "integer",
            "float", "boolean", "true", "false", "mapping", "iterable", "sequence", "callable", "odd", "even",
            "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan",
            ">", "ge", ">=", "in", "sameas", "lower", "upper", "escaped", "filter", "test");

    private Tests() {
    }

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    static boolean apply(String name, Object v, List<Object> args, Renderer r) {
        switch (name) {
            case "defined": return !(v instanceof Undefined);
            case "undefined": return v instanceof Undefined;
            case "none": return v == null;
            case "string": return v instanceof String;
            case "number": return Py.isNumber(v);
            case "integer": return v instanceof Long;
            case "float": return v instanceof Double;
            case "boolean": return v instanceof Boolean;
            case "true": return Boolean.TRUE.equals(v);
            case "false": return Boolean.FALSE.equals(v);
            case "mapping": return v instanceof Map;
            case "iterable": return v instanceof List || v instanceof Map || v instanceof String
                    || v instanceof Undefined;
            case "sequence": return v instanceof List || v instanceof Map || v instanceof String
                    || v instanceof Undefined;
            case "callable": return v instanceof Callable;
            case "odd": return integer(v, name) % 2 != 0;
            case "even": return integer(v, name) % 2 == 0;
            case "divisibleby": {
                long d = integer(arg(args, name), name);
                if (d == 0) {
                    throw JinjaError.render("integer division or modulo by zero");
                }
                return integer(v, name) % d == 0;
            }
            case "eq": case "equalto": case "==": return Ops.compare("==", v, arg(args, name), r);
            case "ne": case "!=": return Ops.compare("!=", v, arg(args, name), r);
            case "lt": case "lessthan": case "<": return Ops.compare("<", v, arg(args, name), r);
            case "le": case "<=": return Ops.compare("<=", v, arg(args, name), r);
            case "gt": case "greaterthan": case ">": return Ops.compare(">", v, arg(args, name), r);
            case "ge": case ">=": return Ops.compare(">=", v, arg(args, name), r);
            case "in": return Ops.contains(arg(args, name), v, r);
            case "sameas": {
                Object o = arg(args, name);
                return v == o || v instanceof Boolean && v.equals(o);
            }
            case "lower": return v instanceof String && ((String) v).equals(((String) v).toLowerCase());
            case "upper": return v instanceof String && ((String) v).equals(((String) v).toUpperCase());
            case "escaped": return false;
            case "filter": return v instanceof String && Filters.exists((String) v);
            case "test": return v instanceof String && exists((String) v);
            default: throw new IllegalStateException(name);
        }
    }

    private static Object arg(List<Object> args, String test) {
        if (args.isEmpty()) {
            throw JinjaError.render("the test '" + test + "' needs an argument");
        }
        return args.get(0);
    }

    private static long integer(Object v, String test) {
        if (v instanceof Long || v instanceof Boolean) {
            return Py.toLong(v);
        }
        if (v instanceof Undefined) {
            throw ((Undefined) v).error();
        }
        throw JinjaError.render("the test '" + test + "' needs an integer, not " + Py.typeName(v));
    }
}
