package org.mixtralspark.engine.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One read-only model file whose tensors are memory-mapped lazily, one mapping per tensor, created on first use and
 * kept for the life of this object. A file is never mapped whole: a {@link MappedByteBuffer} cannot exceed 2 GiB and
 * an 8x7B checkpoint is tens of GiB. A tensor of 2 GiB or more (none in Mixtral 8x7B: an expert-merged Q8_0 matrix
 * is under 500 MiB) is mapped per requested range instead, uncached.
 *
 * <p>Thread-safe: the engine's tasks share one instance.
 */
public final class MappedFile implements AutoCloseable {

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final ConcurrentHashMap<String, MappedByteBuffer> mappings = new ConcurrentHashMap<>();

    private MappedFile(Path path, FileChannel channel, long size) {
        this.path = path;
        this.channel = channel;
        this.size = size;
    }

    /**
     * Opens {@code path} for reading.
     *
     * @throws UncheckedIOException wrapping {@link NoSuchFileException} and the like when the file cannot be opened
     */
    public static MappedFile open(Path path) {
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            try {
                return new MappedFile(path, channel, channel.size());
            } catch (RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open model file " + path, e);
        }
    }

    public Path path() {
        return path;
    }

    /** The file's size in bytes when it was opened; every offset was checked against it. */
    public long size() {
        return size;
    }

    /** The open channel, for header parsers; closed by {@link #close}. */
    public FileChannel channel() {
        return channel;
    }

    /**
     * A read-only little-endian view of {@code length} bytes of {@code tensor}'s data starting {@code offset} bytes
     * into it. {@code tensor} must come from this file (its offsets were checked against it when it was parsed).
     *
     * @throws ModelFormatException     when the range is outside the tensor or longer than a buffer can be
     * @throws IllegalStateException    after {@link #close}
     * @throws IllegalArgumentException when {@code tensor} belongs to another file
     */
    public ByteBuffer slice(TensorInfo tensor, long offset, long length) {
        if (!tensor.file().equals(path)) {
            throw new IllegalArgumentException("tensor " + tensor.name() + " belongs to " + tensor.file() + ", not to " + path);
        }
        if (offset < 0 || length < 0 || offset > tensor.byteSize() - length) {
            throw new ModelFormatException(path, "tensor '" + tensor.name() + "': byte range [" + offset + ", +" + length
                    + ") is outside its " + tensor.byteSize() + " bytes");
        }
        if (length > Integer.MAX_VALUE) {
            throw new ModelFormatException(path, "tensor '" + tensor.name() + "': a view of " + length
                    + " bytes is over the 2 GiB a ByteBuffer can hold; request it in parts");
        }
        ByteBuffer view;
        if (tensor.byteSize() <= Integer.MAX_VALUE) {
            MappedByteBuffer whole = mappings.computeIfAbsent(tensor.name(),
                    name -> map(tensor.fileOffset(), tensor.byteSize()));
            view = whole.slice((int) offset, (int) length);
        } else {
            view = map(tensor.fileOffset() + offset, length);
        }
        return view.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private MappedByteBuffer map(long position, long length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, position, length);
        } catch (ClosedChannelException e) {
            throw new IllegalStateException(path + " is closed", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map " + length + " bytes at offset " + position + " of " + path, e);
        }
    }

    /** Closes the file handle. Views already handed out stay readable until they are garbage-collected. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }
}
