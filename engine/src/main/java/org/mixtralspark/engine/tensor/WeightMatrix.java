package org.mixtralspark.engine.tensor;

import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * A weight matrix {@code W (rows, cols)} stored row-major in a memory-mapped buffer, in any supported
 * {@link GgmlType}; a row is a whole number of quantisation blocks. The math convention is PyTorch's
 * {@code nn.Linear}: {@code out = W @ x}, so {@code rows} is the output width.
 *
 * <p>An optional row permutation maps logical row {@code r} to stored row {@code rowMap[r]}; the loader uses it to
 * normalise the q/k rows of HF checkpoints to the interleaved RoPE layout of GGUF files without copying weights.
 * Immutable and shared by every thread.
 *
 * <p>This is the tensor view only: its type, shape and stored values (in the mapped file, or copied into Java arrays
 * by {@link #onHeap()}). What a backend derives from the values to run faster (the CPU kernels' Q8_0 scale table,
 * a device copy) belongs to that backend.
 */
public final class WeightMatrix {

    private final String name;
    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final ByteBuffer data;
    private final long rowBytes;
    private final int[] rowMap;
    private final FloatBuffer floats;
    private final ShortBuffer shorts;
    /** The stored bytes when they were copied to the heap ({@link #onHeap()}), else null; {@link #data()} wraps it. */
    private final byte[] heap;
    /** F16/BF16: the stored halves when they were copied to the heap ({@link #onHeap()}), else null. */
    private final short[] heapHalves;

    /**
     * @param name   the tensor name, for messages
     * @param data   the stored bytes, exactly {@code rows * rowBytes(type, cols)} of them
     * @param rowMap logical row to stored row, or null for the identity
     */
    public WeightMatrix(String name, GgmlType type, int rows, int cols, ByteBuffer data, int[] rowMap) {
        this(name, type, rows, cols, data, rowMap, null, null);
    }

    private WeightMatrix(String name, GgmlType type, int rows, int cols, ByteBuffer data, int[] rowMap, byte[] heap,
                         short[] heapHalves) {
        if (!type.supportedForWeights()) {
            throw new IllegalArgumentException(name + ": weights of type " + type + " are not supported");
        }
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": row length " + cols + " is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        this.name = name;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.bytesFor(cols);
        long stored = heap != null ? heap.length - HEAP_SLACK : data.remaining();
        if (stored != rows * rowBytes) {
            throw new IllegalArgumentException(name + ": expected " + rows * rowBytes + " bytes for " + rows + "x"
                    + cols + " " + type + ", got " + stored);
        }
        if (rowMap != null && rowMap.length != rows) {
            throw new IllegalArgumentException(name + ": row map has " + rowMap.length + " entries for " + rows);
        }
        this.heap = heap;
        this.heapHalves = heapHalves;
        ByteBuffer bytes = heap != null ? ByteBuffer.wrap(heap, 0, (int) stored) : data;
        this.data = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.rowMap = rowMap == null ? null : rowMap.clone();
        // Views for the bulk copies of the F32 and F16/BF16 kernels: a little-endian view of a little-endian buffer
        // copies with memcpy on x86 (no byte swapping).
        this.floats = type == GgmlType.F32 ? this.data.asFloatBuffer() : null;
        this.shorts = type == GgmlType.F16 || type == GgmlType.BF16 ? this.data.asShortBuffer() : null;
    }

    /** Slack after the stored bytes of a heap copy, so that a 16-byte vector load at the last block stays inside. */
    public static final int HEAP_SLACK = 64;

    /**
     * This matrix with its stored values copied into a Java array: the kernels then read them in place, where from a
     * mapped buffer they first copy each run into a scratch array (the copy and its bookkeeping cost as much as a
     * third of a one-token product). Quantised types: the bytes, which {@link #data()} then wraps. F16/BF16: the
     * halves, as shorts; {@link #data()} stays the original buffer (for the scalar code). F32 is not copied (its
     * kernel gains nothing). Returns this matrix when there is nothing to copy, or when it is too large for one array
     * (over 2 GiB).
     */
    public WeightMatrix onHeap() {
        long bytes = byteSize();
        if (isOnHeap() || type == GgmlType.F32 || bytes + HEAP_SLACK > Integer.MAX_VALUE - 8) {
            return this;
        }
        if (type == GgmlType.F16 || type == GgmlType.BF16) {
            short[] halves = new short[(int) (bytes / 2) + HEAP_SLACK];
            shorts.get(0, halves, 0, (int) (bytes / 2));
            return new WeightMatrix(name, type, rows, cols, data, rowMap, null, halves);
        }
        byte[] copy = new byte[(int) bytes + HEAP_SLACK];
        data.get(0, copy, 0, (int) bytes);
        return new WeightMatrix(name, type, rows, cols, null, rowMap, copy, null);
    }

    /** Whether the stored values are in a Java array ({@link #onHeap()}). */
    public boolean isOnHeap() {
        return heap != null || heapHalves != null;
    }

    /** F16/BF16: the heap copy of the stored halves ({@link #onHeap()}, {@link #HEAP_SLACK} more after), or null. */
    public short[] heapHalves() {
        return heapHalves;
    }

    /** The heap copy of the stored bytes ({@link #onHeap()}, with {@link #HEAP_SLACK} bytes after them), or null. */
    public byte[] heap() {
        return heap;
    }

    public String name() {
        return name;
    }

    public GgmlType type() {
        return type;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Bytes of one stored row. */
    public long rowBytes() {
        return rowBytes;
    }

    /** Bytes of the whole matrix (what one pass over it reads). */
    public long byteSize() {
        return rows * rowBytes;
    }

    /** The stored bytes (read-only view shared with other readers: use absolute gets only). */
    public ByteBuffer data() {
        return data;
    }

    /** {@link #data()} as floats (F32 only, else null); use absolute gets only. */
    public FloatBuffer floats() {
        return floats;
    }

    /** {@link #data()} as shorts (F16 and BF16 only, else null); use absolute gets only. */
    public ShortBuffer shorts() {
        return shorts;
    }

    /** Byte offset of logical row {@code r} in {@link #data()}. */
    public long rowOffset(int r) {
        return storedRow(r) * rowBytes;
    }

    /** Whether logical rows are permuted ({@link #storedRow} is not the identity). */
    public boolean hasRowMap() {
        return rowMap != null;
    }

    /** The stored row that holds logical row {@code r}. */
    public int storedRow(int r) {
        return rowMap == null ? r : rowMap[r];
    }

    /** Decodes logical row {@code r} into {@code out[off .. off + cols)}. */
    public void dequantizeRow(int r, float[] out, int off) {
        Dequantize.row(type, data, rowOffset(r), out, off, cols);
    }
}
