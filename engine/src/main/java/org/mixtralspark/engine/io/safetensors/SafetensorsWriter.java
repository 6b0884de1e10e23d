package org.mixtralspark.engine.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes one {@code .safetensors} file for tests and the model generator, laid out as
 * {@code safetensors.torch.save_file} does: compact JSON header with {@code __metadata__ {"format":"pt"}} first,
 * tensors sorted by name (header and data), header padded with spaces to a multiple of 8 bytes. Values are given as
 * row-major floats and stored as F32, F16 or BF16 (both rounded to nearest even). {@link #writeIndex} writes the
 * {@code model.safetensors.index.json} of a sharded checkpoint.
 *
 * <p>Tensors are held in memory until {@link #write}: meant for test-sized models.
 */
public final class SafetensorsWriter {

    private record Tensor(GgmlType type, long[] shape, byte[] data) {
    }

    private final TreeMap<String, Tensor> tensors = new TreeMap<>();

    /** Adds a tensor of {@code shape} (row-major) stored as {@code dtype} F32, F16 or BF16. */
    public SafetensorsWriter add(String name, GgmlType dtype, long[] shape, float[] data) {
        if (name.equals("__metadata__") || tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, d);
        }
        if (count != data.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " has " + count
                    + " values, data has " + data.length);
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(dtype.bytesFor(count))).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
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
            default -> throw new IllegalArgumentException(name + ": safetensors dtype must be F32, F16 or BF16, not " + dtype);
        }
        tensors.put(name, new Tensor(dtype, shape.clone(), out.array()));
        return this;
    }

    /** The names added so far, sorted. */
    public Set<String> names() {
        return tensors.navigableKeySet();
    }

    /**
     * Writes the file, replacing any file at {@code path}.
     *
     * @return the bytes of tensor data written (what an index's {@code metadata.total_size} sums)
     */
    public long write(Path path) {
        ObjectNode header = SafetensorsHeader.JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.type().name());
            ArrayNode shape = entry.putArray("shape");
            Arrays.stream(t.shape()).forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + t.data().length);
            offset += t.data().length;
        }
        byte[] json;
        try {
            json = SafetensorsHeader.JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        // The data must start 8-byte aligned (so F32 and F64 views are aligned): pad the JSON with spaces.
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head.flip());
            for (Tensor t : tensors.values()) {
                writeFully(ch, ByteBuffer.wrap(t.data()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + path, e);
        }
        return offset;
    }

    /**
     * Writes a {@code model.safetensors.index.json}: {@code {"metadata": {"total_size": ...}, "weight_map": {...}}}
     * with the names sorted, as transformers' {@code save_pretrained} does.
     *
     * @param weightMap tensor name to shard file name (a plain name in the index's folder)
     * @param totalSize the sum of the shards' tensor data bytes
     */
    public static void writeIndex(Path indexFile, Map<String, String> weightMap, long totalSize) {
        ObjectNode root = SafetensorsHeader.JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        new TreeMap<>(weightMap).forEach(map::put);
        try {
            Files.writeString(indexFile, SafetensorsHeader.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + indexFile, e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
