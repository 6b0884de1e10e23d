package org.mixtralspark.engine.sampling;

import java.math.BigDecimal;

/**
 * Reads a numeric parameter given as a number or as text (a table cell, a JSON value, a flag, a config file value)
 * into the Java type that holds it, and when it cannot, says which of the three things is wrong: it is not a number,
 * it is not whole, or it is out of the type's range (with the range). {@code 1e12} for an int is whole and out of
 * range, not "not a whole number". The parameter's own rule (e.g. {@code max_new_tokens >= 1}) is the caller's: a
 * value that fits the type is returned for it to check, so that its message stays the rule's.
 *
 * <p>Messages read {@code <name> = <value>: <what is wrong>}; a value given as text is quoted when it is not a number.
 */
public final class NumberParam {

    private static final BigDecimal INT_MIN = BigDecimal.valueOf(Integer.MIN_VALUE);
    private static final BigDecimal INT_MAX = BigDecimal.valueOf(Integer.MAX_VALUE);
    private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    private NumberParam() {
    }

    /**
     * {@code value} as an int.
     *
     * @param min the least value the parameter accepts, shown in the out-of-range message (e.g. 1 for
     *            max_new_tokens); a whole value in [Integer.MIN_VALUE, min) is still returned for the caller's rule
     * @throws IllegalArgumentException not a number, not whole, or outside [min, Integer.MAX_VALUE] and the int type
     */
    public static int wholeInt(String name, Object value, int min) {
        BigDecimal d = whole(name, value);
        if (d.compareTo(INT_MIN) < 0 || d.compareTo(INT_MAX) > 0) {
            throw new IllegalArgumentException(name + " = " + shown(value) + ": out of range: must be a whole number "
                    + "in [" + min + ", " + Integer.MAX_VALUE + "]");
        }
        return d.intValueExact();
    }

    /** {@code value} as a long; as {@link #wholeInt} for the long type. */
    public static long wholeLong(String name, Object value) {
        BigDecimal d = whole(name, value);
        if (d.compareTo(LONG_MIN) < 0 || d.compareTo(LONG_MAX) > 0) {
            throw new IllegalArgumentException(name + " = " + shown(value) + ": out of range: must be a whole number "
                    + "in [" + Long.MIN_VALUE + ", " + Long.MAX_VALUE + "]");
        }
        return d.longValueExact();
    }

    /**
     * {@code value} as a double that a float holds without becoming infinite (the engine keeps these parameters as
     * floats: 1e39 would turn into Infinity and be reported as such).
     *
     * @throws IllegalArgumentException not a number, not finite, or beyond a float's range
     */
    public static double finiteFloat(String name, Object value) {
        double d = number(name, value).doubleValue();
        if (Math.abs(d) > Float.MAX_VALUE) {
            throw new IllegalArgumentException(name + " = " + shown(value) + ": out of range: must be a number in ["
                    + -Float.MAX_VALUE + ", " + Float.MAX_VALUE + "]");
        }
        return d;
    }

    /**
     * Why {@code text} is no value of the numeric {@code type} (int, long, float or double, boxed or not), in the words
     * above; null when it is one, or when {@code type} is not numeric. For command-line parsers whose own message
     * ("'1e12' is not an int") does not say what is wrong.
     *
     * @param min the parameter's least value, shown in the out-of-range message of an int
     */
    public static String whyNot(String name, String text, Class<?> type, int min) {
        try {
            if (type == int.class || type == Integer.class) {
                wholeInt(name, text, min);
            } else if (type == long.class || type == Long.class) {
                wholeLong(name, text);
            } else if (type == float.class || type == Float.class || type == double.class || type == Double.class) {
                finiteFloat(name, text);
            }
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    private static BigDecimal whole(String name, Object value) {
        BigDecimal d = number(name, value);
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException(name + " = " + shown(value) + ": must be a whole number");
        }
        return d;
    }

    private static BigDecimal number(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " is null: a number is needed");
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException(name + " = " + value + ": not a finite number");
            }
            return new BigDecimal(value.toString());
        }
        if (value instanceof Number n) {
            return new BigDecimal(n.toString());
        }
        String text = value.toString().trim();
        try {
            return new BigDecimal(text);
        } catch (NumberFormatException notDecimal) {
            String lower = text.toLowerCase(java.util.Locale.ROOT).replaceFirst("^[+-]", "");
            if (lower.equals("nan") || lower.equals("infinity") || lower.equals("inf")) {
                throw new IllegalArgumentException(name + " = " + text + ": not a finite number");
            }
            throw new IllegalArgumentException(name + " = \"" + value + "\": not a number");
        }
    }

    private static String shown(Object value) {
        return value instanceof CharSequence ? value.toString().trim() : String.valueOf(value);
    }
}
