package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.RowSource;
import org.mixtralspark.engine.tensor.Quantize;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes a GGUF file (version 3 by default, little-endian) for tests and the model generator: metadata of every
 * value type, and tensors given as floats (stored as F32, F16, BF16 or Q8_0, rounded and quantised as ggml does) or
 * as raw bytes of any type. Layout as gguf-py's {@code GGUFWriter}: header, metadata, tensor infos, zero padding to
 * the alignment, then each tensor's data padded to the alignment.
 *
 * <p>A tensor is given as floats (copied: small tensors), as encoded bytes, or as a {@link RowSource} whose rows are
 * drawn and encoded while the file is written, so that a file of any size is written in bounded memory: the header
 * first (offsets follow from shapes and types), then the data a chunk of rows at a time, straight into the file.
 * Shapes are given row-major, as {@link org.mixtralspark.engine.io.TensorInfo} reports them; the writer stores them
 * as ggml's {@code ne} (reversed).
 */
public final class GgufWriter {

    private record Value(GgufValueType type, GgufValueType elementType, Object value) {
    }

    /** A tensor to write: its encoded bytes ({@code raw}), or a source of rows encoded while writing. */
    private record Tensor(String name, GgmlType type, long[] shape, long bytes, byte[] raw, RowSource rows) {
    }

    /** Size of the buffer a chunk of rows is encoded into before it is written. */
    private static final int CHUNK_BYTES = 4 << 20;

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private int version = 3;
    private int threads = Runtime.getRuntime().availableProcessors();
    private int chunkBytes = CHUNK_BYTES;

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
     * ggml and gguf-py) or Q8_0 (ggml's {@code quantize_row_q8_0_ref}). The array is copied: small tensors only.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, float[] data) {
        long count = checkShape(name, type, shape);
        if (data.length != count) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " has " + count
                    + " values, data has " + data.length);
        }
        return addTensor(name, type, shape, RowSource.of(data.clone(), Math.toIntExact(shape[shape.length - 1])));
    }

    /**
     * A tensor whose rows (the last dimension) are asked of {@code rows} while {@link #write} writes the file, each
     * row encoded straight into the file as {@link #addTensor(String, GgmlType, long[], float[])} encodes floats: the
     * tensor never sits in memory whole. Rows are asked for from the writer's {@link #threads} threads at once.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, RowSource rows) {
        long count = checkShape(name, type, shape);
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16 && type != GgmlType.Q8_0) {
            throw new IllegalArgumentException(name + ": cannot encode floats as " + type
                    + " (F32, F16, BF16, Q8_0; use addRawTensor for others)");
        }
        return addTensor(new Tensor(name, type, shape.clone(), type.bytesFor(count), null, rows));
    }

    /** A tensor of any type from its encoded bytes ({@code type.bytesFor(elements)} of them). */
    public GgufWriter addRawTensor(String name, GgmlType type, long[] shape, byte[] data) {
        long count = checkShape(name, type, shape);
        if (data.length != type.bytesFor(count)) {
            throw new IllegalArgumentException(name + ": " + count + " " + type + " values take " + type.bytesFor(count)
                    + " bytes, data has " + data.length);
        }
        return addTensor(new Tensor(name, type, shape.clone(), data.length, data.clone(), null));
    }

    /** Threads that produce and encode rows while writing (default: the available processors). */
    public GgufWriter threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was " + threads);
        }
        this.threads = threads;
        return this;
    }

    /** The chunk buffer's size (tests: many chunks from small tensors). */
    GgufWriter chunkBytes(int bytes) {
        this.chunkBytes = bytes;
        return this;
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
        if (shape[shape.length - 1] > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException(name + ": rows of " + shape[shape.length - 1] + " values are too long");
        }
        return count;
    }

    /**
     * Writes the file, replacing any file at {@code path}: the header first (every offset follows from the shapes and
     * types), then each tensor's data, row sources drawn and encoded a chunk of rows at a time. Memory used beyond
     * the header: one chunk buffer (4 MiB, or one row if longer) and a row of floats per thread. The rows of a chunk
     * are drawn only once the chunks before it are in the file.
     */
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
        for (Tensor t : tensors.values()) {
            h.string(t.name()).i32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) {
                h.i64(t.shape()[d]);
            }
            h.i32(t.type().id).i64(offset);
            offset = alignUp(offset + t.bytes(), alignment);
        }
        h.padTo(alignment);
        ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "gguf-writer");
            th.setDaemon(true);
            return th;
        }) : null;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, h.toBuffer());
            ByteBuffer chunk = null;
            for (Tensor t : tensors.values()) {
                if (t.raw() != null) {
                    writeFully(ch, ByteBuffer.wrap(t.raw()));
                } else {
                    int cols = (int) t.shape()[t.shape().length - 1];
                    int rowBytes = Math.toIntExact(t.type().bytesFor(cols));
                    if (chunk == null || chunk.capacity() < rowBytes) {
                        chunk = ByteBuffer.allocate(Math.max(chunkBytes, rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
                    }
                    streamRows(ch, t, cols, rowBytes, chunk, pool);
                }
                writeFully(ch, ByteBuffer.allocate((int) (alignUp(t.bytes(), alignment) - t.bytes())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + path, e);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    /** Draws and encodes the rows of {@code t} a chunk at a time (the chunk's rows split over the pool) and writes them. */
    private void streamRows(FileChannel ch, Tensor t, int cols, int rowBytes, ByteBuffer chunk, ExecutorService pool)
            throws IOException {
        long rows = t.bytes() / rowBytes;
        int perChunk = chunk.capacity() / rowBytes;
        for (long first = 0; first < rows; first += perChunk) {
            int n = (int) Math.min(perChunk, rows - first);
            long base = first;
            int parts = pool == null ? 1 : Math.min(threads, n);
            if (parts == 1) {
                encodeRows(t, cols, rowBytes, chunk, base, 0, n);
            } else {
                List<Future<?>> done = new ArrayList<>(parts);
                for (int p = 0; p < parts; p++) {
                    int from = n * p / parts;
                    int to = n * (p + 1) / parts;
                    done.add(pool.submit(() -> encodeRows(t, cols, rowBytes, chunk, base, from, to)));
                }
                for (Future<?> f : done) {
                    join(f, t.name());
                }
            }
            writeFully(ch, chunk.duplicate().position(0).limit(n * rowBytes));
        }
    }

    /** Rows {@code base + from .. base + to} of {@code t}, encoded into {@code chunk} at {@code (row - base) * rowBytes}. */
    private static void encodeRows(Tensor t, int cols, int rowBytes, ByteBuffer chunk, long base, int from, int to) {
        float[] x = new float[cols];
        for (int i = from; i < to; i++) {
            t.rows().row(base + i, x);
            int at = i * rowBytes;
            switch (t.type()) {
                case F32 -> {
                    for (int j = 0; j < cols; j++) {
                        chunk.putFloat(at + 4 * j, x[j]);
                    }
                }
                case F16 -> {
                    for (int j = 0; j < cols; j++) {
                        chunk.putShort(at + 2 * j, Float16.fromFloat(x[j]));
                    }
                }
                case BF16 -> {
                    for (int j = 0; j < cols; j++) {
                        chunk.putShort(at + 2 * j, BFloat16.fromFloat(x[j]));
                    }
                }
                case Q8_0 -> Quantize.rowQ8_0(x, 0, cols, chunk, at);
                default -> throw new IllegalStateException("checked in addTensor: " + t.type());
            }
        }
    }

    private static void join(Future<?> f, String tensor) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing tensor " + tensor, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("writing tensor " + tensor + ": " + e.getCause(), e.getCause());
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
