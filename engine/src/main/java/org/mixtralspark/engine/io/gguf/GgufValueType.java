package org.mixtralspark.engine.io.gguf;

/**
 * The metadata value types of the GGUF spec ({@code enum gguf_metadata_value_type}), with the ids written in the
 * file. The reader maps every integer type to {@link Long}, FLOAT32 to {@link Float}, FLOAT64 to {@link Double},
 * BOOL to {@link Boolean}, STRING to {@link String} and ARRAY to {@code List<Object>}.
 */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    /** {@code gguf_string_t}: uint64 length, then that many UTF-8 bytes (no terminator). */
    STRING(8, 8),
    /** uint32 element type, uint64 length, then the elements. */
    ARRAY(9, 4 + 8),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    /** The id the file stores. */
    public final int id;
    /**
     * The fewest bytes one value of this type takes in the file. The reader multiplies a claimed count by this to
     * reject, before allocating anything, a count the rest of the file could not possibly hold.
     */
    public final int minEncodedSize;

    GgufValueType(int id, int minEncodedSize) {
        this.id = id;
        this.minEncodedSize = minEncodedSize;
    }

    /** The type with this id, or null when the id is not in the spec. */
    public static GgufValueType byId(int id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** Whether values of this type are read as {@link Long}. */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}
