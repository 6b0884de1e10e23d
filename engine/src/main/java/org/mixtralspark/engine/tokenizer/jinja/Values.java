package org.mixtralspark.engine.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Copies the caller's variables into template values: strings, numbers, booleans, null, lists and string-keyed maps
 * only, nested at most {@link JinjaLimits#maxValueDepth()} deep, read-only. Anything else is refused, so no Java
 * object of the caller's ever reaches a template.
 */
final class Values {

    private Values() {
    }

    static Object copy(Object v, String path, int depth, JinjaLimits limits) {
        if (depth > limits.maxValueDepth()) {
            throw new IllegalArgumentException(path + ": nested more than " + limits.maxValueDepth() + " deep");
        }
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float) {
            return ((Float) v).doubleValue();
        }
        if (v instanceof BigInteger && ((BigInteger) v).bitLength() < 64) {
            return ((BigInteger) v).longValue();
        }
        if (v instanceof BigDecimal) {
            return ((BigDecimal) v).doubleValue();
        }
        if (v instanceof CharSequence) {
            return v.toString();
        }
        if (v instanceof List) {
            List<?> in = (List<?>) v;
            if (in.size() > limits.maxItems()) {
                throw new IllegalArgumentException(path + ": more than " + limits.maxItems() + " items");
            }
            List<Object> out = new ArrayList<>(in.size());
            for (int i = 0; i < in.size(); i++) {
                out.add(copy(in.get(i), path + "[" + i + "]", depth + 1, limits));
            }
            return Collections.unmodifiableList(out);
        }
        if (v instanceof Map) {
            Map<?, ?> in = (Map<?, ?>) v;
            if (in.size() > limits.maxItems()) {
                throw new IllegalArgumentException(path + ": more than " + limits.maxItems() + " entries");
            }
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : in.entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException(path + ": map keys must be strings");
                }
                out.put(e.getKey(), copy(e.getValue(), path + "." + e.getKey(), depth + 1, limits));
            }
            return Collections.unmodifiableMap(out);
        }
        throw new IllegalArgumentException(path + ": a " + v.getClass().getSimpleName()
                + " is not a template value (strings, numbers, booleans, null, lists and maps only)");
    }
}
