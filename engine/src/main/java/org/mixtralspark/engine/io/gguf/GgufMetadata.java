package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The key-value metadata of one GGUF file, in file order, with typed getters whose failures name the file, the key,
 * and the type expected against the type found.
 *
 * <p>Values: every integer type is a {@link Long} (an UINT64 of 2^63 or more keeps its bits and reads negative;
 * {@link #getLong} refuses it), FLOAT32 a {@link Float}, FLOAT64 a {@link Double}, BOOL a {@link Boolean}, STRING a
 * {@link String}, ARRAY an unmodifiable {@code List<Object>} of those. {@link #type} and {@link #arrayElementType}
 * keep the type the file stored, for tools that rewrite a file.
 */
public final class GgufMetadata {

    private final Path file;
    private final Map<String, Object> values;
    private final Map<String, GgufValueType> types;
    private final Map<String, GgufValueType> arrayElementTypes;

    GgufMetadata(Path file, Map<String, Object> values, Map<String, GgufValueType> types,
                 Map<String, GgufValueType> arrayElementTypes) {
        this.file = file;
        this.values = Collections.unmodifiableMap(values);
        this.types = Collections.unmodifiableMap(types);
        this.arrayElementTypes = Collections.unmodifiableMap(arrayElementTypes);
    }

    /** Every key and value, in file order; unmodifiable. */
    public Map<String, Object> asMap() {
        return values;
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    /** The type stored for {@code key}, or null when the key is absent. */
    public GgufValueType type(String key) {
        return types.get(key);
    }

    /** The element type of the array stored for {@code key}, or null when the key is absent or not an array. */
    public GgufValueType arrayElementType(String key) {
        return arrayElementTypes.get(key);
    }

    public String getString(String key) {
        return require(key, String.class, "a STRING");
    }

    public String getString(String key, String defaultValue) {
        return contains(key) ? getString(key) : defaultValue;
    }

    /** Any integer type; an UINT64 over {@link Long#MAX_VALUE} is refused rather than read as negative. */
    public long getLong(String key) {
        long v = require(key, Long.class, "an integer");
        if (v < 0 && types.get(key) == GgufValueType.UINT64) {
            throw wrong(key, "an integer up to " + Long.MAX_VALUE, "UINT64 " + Long.toUnsignedString(v));
        }
        return v;
    }

    public long getLong(String key, long defaultValue) {
        return contains(key) ? getLong(key) : defaultValue;
    }

    /** Any integer type whose value fits in an {@code int}. */
    public int getInt(String key) {
        long v = getLong(key);
        if (v != (int) v) {
            throw wrong(key, "an integer that fits in 32 bits", types.get(key) + " " + v);
        }
        return (int) v;
    }

    public int getInt(String key, int defaultValue) {
        return contains(key) ? getInt(key) : defaultValue;
    }

    /** FLOAT32, or FLOAT64 rounded to float. */
    public float getFloat(String key) {
        Object v = values.get(key);
        if (v instanceof Float f) {
            return f;
        }
        if (v instanceof Double d) {
            return d.floatValue();
        }
        throw v == null ? missing(key) : wrong(key, "a FLOAT32", describe(key));
    }

    public float getFloat(String key, float defaultValue) {
        return contains(key) ? getFloat(key) : defaultValue;
    }

    public boolean getBoolean(String key) {
        return require(key, Boolean.class, "a BOOL");
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        return contains(key) ? getBoolean(key) : defaultValue;
    }

    /** An ARRAY of any element type (unmodifiable). */
    @SuppressWarnings("unchecked")
    public List<Object> getArray(String key) {
        return require(key, List.class, "an ARRAY");
    }

    /** An ARRAY of STRING, e.g. {@code tokenizer.ggml.tokens}. */
    @SuppressWarnings("unchecked")
    public List<String> getStringList(String key) {
        requireElements(key, GgufValueType.STRING);
        return (List<String>) (List<?>) getArray(key);
    }

    /** An ARRAY of FLOAT32 (or FLOAT64, rounded), e.g. {@code tokenizer.ggml.scores}. */
    public float[] getFloatArray(String key) {
        List<Object> list = getArray(key);
        GgufValueType et = arrayElementTypes.get(key);
        if (et != GgufValueType.FLOAT32 && et != GgufValueType.FLOAT64) {
            throw wrong(key, "an ARRAY of FLOAT32", "an ARRAY of " + et);
        }
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) list.get(i)).floatValue();
        }
        return out;
    }

    /** An ARRAY of any integer type whose values all fit in an {@code int}, e.g. {@code tokenizer.ggml.token_type}. */
    public int[] getIntArray(String key) {
        List<Object> list = getArray(key);
        GgufValueType et = arrayElementTypes.get(key);
        if (et == null || !et.isInteger()) {
            throw wrong(key, "an ARRAY of integers", "an ARRAY of " + et);
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            long v = (Long) list.get(i);
            if (v != (int) v || (v < 0 && et == GgufValueType.UINT64)) {
                throw wrong(key, "integers that fit in 32 bits", et + " " + Long.toUnsignedString(v) + " at index " + i);
            }
            out[i] = (int) v;
        }
        return out;
    }

    private <T> T require(String key, Class<T> type, String expected) {
        Object v = values.get(key);
        if (v == null) {
            throw missing(key);
        }
        if (!type.isInstance(v)) {
            throw wrong(key, expected, describe(key));
        }
        return type.cast(v);
    }

    private void requireElements(String key, GgufValueType elementType) {
        getArray(key);
        GgufValueType et = arrayElementTypes.get(key);
        if (et != elementType) {
            throw wrong(key, "an ARRAY of " + elementType, "an ARRAY of " + et);
        }
    }

    private String describe(String key) {
        Object v = values.get(key);
        GgufValueType t = types.get(key);
        if (t == GgufValueType.ARRAY) {
            return "an ARRAY of " + arrayElementTypes.get(key) + " (" + ((List<?>) v).size() + " elements)";
        }
        String shown = String.valueOf(v);
        if (shown.length() > 40) {
            shown = shown.substring(0, 40) + "...";
        }
        return t + " " + (v instanceof String ? "\"" + shown + "\"" : shown);
    }

    private ModelFormatException missing(String key) {
        return new ModelFormatException(file, "metadata key '" + key + "' is missing");
    }

    private ModelFormatException wrong(String key, String expected, String found) {
        return new ModelFormatException(file, "metadata key '" + key + "': expected " + expected + ", found " + found);
    }
}
