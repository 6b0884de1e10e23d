package org.mixtralspark.engine.io;

import org.mixtralspark.engine.tensor.GgmlType;

import java.util.Arrays;

/**
 * One stored tensor: its name in the file, element type, shape in row-major order (numpy / PyTorch order,
 * i.e. GGUF's {@code ne} reversed: a matrix of {@code rows x cols} is {@code [rows, cols]}, a merged expert
 * tensor {@code [experts, rows, cols]}), and where its bytes are.
 *
 * @param file        the file holding the bytes (for messages and for mapping)
 * @param name        the tensor's name in that file
 * @param type        element type
 * @param shape       row-major shape; the last dimension is contiguous
 * @param fileOffset  absolute byte offset of the first element in {@code file}
 * @param byteSize    bytes of data, already checked to lie inside the file
 */
public record TensorInfo(java.nio.file.Path file, String name, GgmlType type, long[] shape, long fileOffset, long byteSize) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.file.equals(file) && t.name.equals(name) && t.type == type
                && Arrays.equals(t.shape, shape) && t.fileOffset == fileOffset && t.byteSize == byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + shapeString();
    }
}
