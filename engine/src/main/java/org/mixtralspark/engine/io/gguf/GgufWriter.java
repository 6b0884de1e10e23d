package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.io.BFloat16;
import org.mixtralspark.engine.io.Float16;
import org.mixtralspark.engine.io.GgmlType;
import org.mixtralspark.engine.kernels.cpu.Quantize;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF file (version 3 by default, little-endian) for tests and the model generator: metadata of every
 * value type, and tensors given as floats (stored as F32, F16, BF16 or Q8_0, rounded and quantised as ggml does) or
 * as raw bytes of any type. Layout as gguf-py's {@code GGUFWriter}: header, metadata, tensor infos, zero padding to
 * the alignment, then each tensor's data padded to the alignment.
 *
 * <p>Tensors are held in memory until {@link #write}: meant for test-sized models, not for converting an 8x7B.
 * Shapes are given row-major, as {@link org.mixtralspark.engine.io.TensorInfo} reports them; the writer stores them
 * as ggml's {@code ne} (reversed).
 */
public final class GgufWriter {

    private record Value(GgufValueType type, GgufValueType elementType, Object value) {
    }

    private record Tensor(String name, GgmlType type, long[] shape, byte[] data) {
    }

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private int version = 3;

    /** Writes GGUF version 2 or 3 (they differ only in v3 allowing big-endian files, which we never write). */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("GGUF version must be 2 or 3, was " + version);
        }
        this.version = version;
        return this;
    }

    /** Sets {@code general.alignment} (UINT32, a power of two); without it the alignment is the default 32. */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, was " + alignment);
        }
        return putUInt32("general.alignment", alignment);
    }

    public GgufWriter putUInt8(String key, int value) {
        return put(key, GgufValueType.UINT8, (long) value);
    }

    public GgufWriter putInt8(String key, int value) {
        return put(key, GgufValueType.INT8, (long) value);
    }

    public GgufWriter putUInt16(String key, int value) {
        return put(key, GgufValueType.UINT16, (long) value);
    }

    public GgufWriter putInt16(String key, int value) {
        return put(key, GgufValueType.INT16, (long) value);
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValueType.UINT32, value);
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, (long) value);
    }

    public GgufWriter putUInt64(String key, long value) {
        return put(key, GgufValueType.UINT64, value);
    }

    public GgufWriter putInt64(String key, long value) {
        return put(key, GgufValueType.INT64, value);
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    public GgufWriter putFloat64(String key, double value) {
        return put(key, GgufValueType.FLOAT64, value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    public GgufWriter putStringArray(String key, List<String> values) {
        return putArray(key, GgufValueType.STRING, values);
    }

    public GgufWriter putFloat32Array(String key, float[] values) {
        List<Object> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return putArray(key, GgufValueType.FLOAT32, list);
    }

    public GgufWriter putInt32Array(String key, int[] values) {
        List<Object> list = new ArrayList<>(values.length);
        for (int v : values) {
            list.add((long) v);
        }
        return putArray(key, GgufValueType.INT32, list);
    }

    /**
     * A scalar of any type but ARRAY: a {@link Number} for integer and float types, a {@link Boolean}, a
     * {@link String}. Also the way to copy a value read from a {@link GgufFile} with its stored type.
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        if (type == GgufValueType.ARRAY) {
            throw new IllegalArgumentException("use putArray for the array " + key);
        }
        checkScalar(key, type, value);
        return add(key, new Value(type, null, value));
    }

    /** An array of scalars of {@code elementType} (arrays of arrays are not written). */
    public GgufWriter putArray(String key, GgufValueType elementType, List<?> values) {
        if (elementType == GgufValueType.ARRAY) {
            throw new IllegalArgumentException(key + ": arrays of arrays are not supported by this writer");
        }
        for (Object v : values) {
            checkScalar(key, elementType, v);
        }
        return add(key, new Value(GgufValueType.ARRAY, elementType, List.copyOf(values)));
    }

    private GgufWriter add(String key, Value v) {
        if (key.isEmpty() || metadata.containsKey(key)) {
            throw new IllegalArgumentException("metadata key '" + key + "' is empty or already set");
        }
        metadata.put(key, v);
        return this;
    }

    private static void checkScalar(String key, GgufValueType type, Object value) {
        boolean ok = switch (type) {
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case FLOAT32, FLOAT64 -> value instanceof Float || value instanceof Double;
            default -> value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte;
        };
        if (!ok) {
            throw new IllegalArgumentException(key + ": " + value + " is not a " + type);
        }
    }

    /**
     * A tensor from row-major floats, stored as F32, F16 (round to nearest even), BF16 (round to nearest even, as
     * ggml and gguf-py) or Q8_0 (ggml's {@code quantize_row_q8_0_ref}).
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, float[] data) {
        long count = checkShape(name, type, shape);
        if (data.length != count) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " has " + count
                    + " values, data has " + data.length);
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(type.bytesFor(count))).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> out.asFloatBuffer().put(data);
            case F16 -> {
                for (int i = 0; i < data.length; i++) {
                    out.putShort(2 * i, Float16.fromFloat(data[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < data.length; i++) {
                    out.putShort(2 * i, BFloat16.fromFloat(data[i]));
                }
            }
            case Q8_0 -> Quantize.rowQ8_0(data, 0, data.length, out, 0);
            default -> throw new IllegalArgumentException(name + ": cannot encode floats as " + type
                    + " (F32, F16, BF16, Q8_0; use addRawTensor for others)");
        }
        return addTensor(new Tensor(name, type, shape.clone(), out.array()));
    }

    /** A tensor of any type from its encoded bytes ({@code type.bytesFor(elements)} of them). */
    public GgufWriter addRawTensor(String name, GgmlType type, long[] shape, byte[] data) {
        long count = checkShape(name, type, shape);
        if (data.length != type.bytesFor(count)) {
            throw new IllegalArgumentException(name + ": " + count + " " + type + " values take " + type.bytesFor(count)
                    + " bytes, data has " + data.length);
        }
        return addTensor(new Tensor(name, type, shape.clone(), data.clone()));
    }

    private GgufWriter addTensor(Tensor t) {
        if (tensors.containsKey(t.name())) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is already added");
        }
        tensors.put(t.name(), t);
        return this;
    }

    private static long checkShape(String name, GgmlType type, long[] shape) {
        if (shape.length < 1 || shape.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException(name + ": 1 to 4 dimensions, got " + Arrays.toString(shape));
        }
        long count = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException(name + ": dimensions must be positive, got " + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, d);
        }
        if (shape[shape.length - 1] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": rows of " + shape[shape.length - 1] + " are not whole " + type
                    + " blocks of " + type.blockSize);
        }
        return count;
    }

    /** Writes the file, replacing any file at {@code path}. */
    public void write(Path path) {
        int alignment = alignmentOf();
        LittleEndianBytes h = new LittleEndianBytes();
        // Spec, gguf_header_t: magic "GGUF", uint32 version, uint64 tensor_count, uint64 metadata_kv_count.
        h.i32(GgufParser.MAGIC).i32(version).i64(tensors.size()).i64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            h.string(e.getKey());
            Value v = e.getValue();
            h.i32(v.type().id);
            if (v.type() == GgufValueType.ARRAY) {
                List<?> list = (List<?>) v.value();
                h.i32(v.elementType().id).i64(list.size());
                for (Object o : list) {
                    scalar(h, v.elementType(), o);
                }
            } else {
                scalar(h, v.type(), v.value());
            }
        }
        // Spec, gguf_tensor_info_t: name, uint32 n_dimensions, uint64 ne[n], uint32 type, uint64 offset (relative to
        // the data section, a multiple of the alignment).
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors.values()) {
            h.string(t.name()).i32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) {
                h.i64(t.shape()[d]);
            }
            h.i32(t.type().id).i64(offset);
            offsets.add(offset);
            offset = alignUp(offset + t.data().length, alignment);
        }
        h.padTo(alignment);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, h.toBuffer());
            long dataStart = h.size();
            int i = 0;
            for (Tensor t : tensors.values()) {
                long at = dataStart + offsets.get(i++);
                ch.position(at);
                writeFully(ch, ByteBuffer.wrap(t.data()));
                long padded = alignUp(t.data().length, alignment);
                writeFully(ch, ByteBuffer.allocate((int) (padded - t.data().length)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + path, e);
        }
    }

    private int alignmentOf() {
        Value v = metadata.get("general.alignment");
        if (v == null) {
            return GgufParser.DEFAULT_ALIGNMENT;
        }
        long a = ((Number) v.value()).longValue();
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException("general.alignment must be a power of two, is " + a);
        }
        return (int) a;
    }

    private static void scalar(LittleEndianBytes h, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> h.u8(((Number) v).intValue());
            case UINT16, INT16 -> h.u16(((Number) v).intValue());
            case UINT32, INT32 -> h.i32(((Number) v).intValue());
            case UINT64, INT64 -> h.i64(((Number) v).longValue());
            case FLOAT32 -> h.i32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> h.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> h.u8((Boolean) v ? 1 : 0);
            case STRING -> h.string((String) v);
            case ARRAY -> throw new IllegalStateException("nested array");
        }
    }

    private static long alignUp(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** A growable little-endian byte sink for the header. */
    private static final class LittleEndianBytes {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 12).order(ByteOrder.LITTLE_ENDIAN);

        private LittleEndianBytes ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(2 * buf.capacity(), buf.position() + n))
                        .order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(buf.flip());
                buf = bigger;
            }
            return this;
        }

        LittleEndianBytes u8(int v) {
            ensure(1).buf.put((byte) v);
            return this;
        }

        LittleEndianBytes u16(int v) {
            ensure(2).buf.putShort((short) v);
            return this;
        }

        LittleEndianBytes i32(int v) {
            ensure(4).buf.putInt(v);
            return this;
        }

        LittleEndianBytes i64(long v) {
            ensure(8).buf.putLong(v);
            return this;
        }

        /** gguf_string_t: uint64 length, UTF-8 bytes. */
        LittleEndianBytes string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            ensure(b.length).buf.put(b);
            return this;
        }

        void padTo(int alignment) {
            while (buf.position() % alignment != 0) {
                u8(0);
            }
        }

        int size() {
            return buf.position();
        }

        ByteBuffer toBuffer() {
            return buf.duplicate().flip();
        }
    }
}
