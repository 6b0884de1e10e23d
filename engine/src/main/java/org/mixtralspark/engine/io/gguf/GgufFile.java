package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.io.MappedFile;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (version 2 or 3, little-endian), as written by llama.cpp's converters and gguf-py: its metadata and
 * its tensors, memory-mapped lazily one tensor at a time.
 *
 * <p>Shapes are row-major ({@code ne} reversed): {@code token_embd} stored with {@code ne = [hidden, vocab]} has
 * shape {@code [vocab, hidden]}. Offsets in {@link TensorInfo} are absolute file offsets. Everything in the header
 * was checked when the file was opened (see {@link #open}), so a {@link TensorInfo} from here is safe to map.
 *
 * <p>Thread-safe once opened.
 */
public final class GgufFile implements TensorSource {

    private final MappedFile mapped;
    private final GgufParser.Header header;

    private GgufFile(MappedFile mapped, GgufParser.Header header) {
        this.mapped = mapped;
        this.header = header;
    }

    /**
     * Opens and checks a GGUF file: magic, version, counts (against the bytes left in the file, before allocating),
     * metadata types, tensor dimensions, types, sizes, alignment, overlaps and bounds. Tensor data is not read.
     *
     * @throws ModelFormatException when the file is not a usable GGUF; the message names the file and the key or
     *                              tensor at fault, with what was expected and what was found
     * @throws UncheckedIOException when the file cannot be read
     */
    public static GgufFile open(Path path) {
        MappedFile mapped = MappedFile.open(path);
        try {
            GgufHeaderReader reader = new GgufHeaderReader(mapped.channel(), path, mapped.size(),
                    GgufParser.MAX_HEADER_BYTES);
            return new GgufFile(mapped, GgufParser.parse(reader, path));
        } catch (RuntimeException e) {
            mapped.close();
            throw e;
        }
    }

    @Override
    public Path path() {
        return mapped.path();
    }

    /** 2 or 3. */
    public int version() {
        return header.version();
    }

    /** {@code general.alignment}, or the default 32. */
    public int alignment() {
        return header.alignment();
    }

    /** Absolute file offset of the tensor data section. */
    public long dataStart() {
        return header.dataStart();
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return header.tensors();
    }

    /** The tensor called {@code name}, or null. */
    public TensorInfo tensor(String name) {
        return header.tensors().get(name);
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when {@code tensor} is not one of {@link #tensors()} (a hand-made
     *                                  {@link TensorInfo} could point anywhere; view part of a tensor with
     *                                  {@code offset} and {@code length} instead)
     */
    @Override
    public ByteBuffer bytes(TensorInfo tensor, long offset, long length) {
        if (!tensor.equals(header.tensors().get(tensor.name()))) {
            throw new IllegalArgumentException(tensor + " at offset " + tensor.fileOffset() + " is not a tensor of " + path());
        }
        return mapped.slice(tensor, offset, length);
    }

    /** Every metadata key and value in file order (see {@link GgufMetadata} for the value classes); unmodifiable. */
    public Map<String, Object> metadata() {
        return header.metadata().asMap();
    }

    /** The metadata with typed getters and the stored value types. */
    public GgufMetadata meta() {
        return header.metadata();
    }

    /** @see GgufMetadata#getString(String) */
    public String getString(String key) {
        return meta().getString(key);
    }

    public String getString(String key, String defaultValue) {
        return meta().getString(key, defaultValue);
    }

    /** @see GgufMetadata#getLong(String) */
    public long getLong(String key) {
        return meta().getLong(key);
    }

    public long getLong(String key, long defaultValue) {
        return meta().getLong(key, defaultValue);
    }

    /** @see GgufMetadata#getInt(String) */
    public int getInt(String key) {
        return meta().getInt(key);
    }

    public int getInt(String key, int defaultValue) {
        return meta().getInt(key, defaultValue);
    }

    /** @see GgufMetadata#getFloat(String) */
    public float getFloat(String key) {
        return meta().getFloat(key);
    }

    public float getFloat(String key, float defaultValue) {
        return meta().getFloat(key, defaultValue);
    }

    /** @see GgufMetadata#getBoolean(String) */
    public boolean getBoolean(String key) {
        return meta().getBoolean(key);
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        return meta().getBoolean(key, defaultValue);
    }

    /** @see GgufMetadata#getStringList(String) */
    public List<String> getStringList(String key) {
        return meta().getStringList(key);
    }

    /** @see GgufMetadata#getFloatArray(String) */
    public float[] getFloatArray(String key) {
        return meta().getFloatArray(key);
    }

    /** @see GgufMetadata#getIntArray(String) */
    public int[] getIntArray(String key) {
        return meta().getIntArray(key);
    }

    @Override
    public void close() {
        mapped.close();
    }

    @Override
    public String toString() {
        return "GGUF v" + version() + " " + path() + " (" + tensors().size() + " tensors, " + metadata().size() + " keys)";
    }
}
