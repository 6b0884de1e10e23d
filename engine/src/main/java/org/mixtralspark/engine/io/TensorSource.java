package org.mixtralspark.engine.io;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * The tensors of a checkpoint (one GGUF file, or an HF folder of one or more safetensors shards), memory-mapped.
 * Nothing is copied onto the heap: {@link #bytes} returns read-only little-endian views of the mapped file.
 */
public interface TensorSource extends AutoCloseable {

    /** The file or folder this source was opened from (for messages). */
    Path path();

    /** Every tensor, by its name in the file, in file order. */
    Map<String, TensorInfo> tensors();

    /**
     * A read-only, little-endian view of {@code length} bytes of the tensor's data, starting {@code offset} bytes
     * into it. {@code length} must be at most {@link Integer#MAX_VALUE}; a whole 8x7B expert matrix is far smaller.
     *
     * @throws ModelFormatException if the range is outside the tensor
     */
    ByteBuffer bytes(TensorInfo tensor, long offset, long length);

    /** A view of the whole tensor (which must be under 2 GiB). */
    default ByteBuffer bytes(TensorInfo tensor) {
        return bytes(tensor, 0, tensor.byteSize());
    }

    /** Releases the mappings' file handles. The buffers handed out stay readable until garbage-collected. */
    @Override
    void close();
}
