package org.mixtralspark.engine.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.io.MappedFile;
import org.mixtralspark.engine.io.BoundedFiles;
import org.mixtralspark.engine.io.JsonErrors;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tensors of a Hugging Face checkpoint: one {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} lists in its {@code weight_map}. Shapes are as stored (row-major already);
 * dtypes F32, F16 and BF16. Each shard is memory-mapped lazily, one tensor at a time.
 *
 * <p>With an index, the tensors are exactly those the index names (as transformers loads them): a tensor the index
 * names but its shard lacks is an error; a tensor in a shard that the index does not name is ignored.
 *
 * <p>Thread-safe once opened.
 */
public final class SafetensorsCheckpoint implements TensorSource {

    /** The single-file checkpoint name (transformers' {@code SAFE_WEIGHTS_NAME}). */
    public static final String SINGLE_FILE = "model.safetensors";
    /** The shard index name (transformers' {@code SAFE_WEIGHTS_INDEX_NAME}). */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path path;
    private final Map<Path, MappedFile> files;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsCheckpoint(Path path, Map<Path, MappedFile> files, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.files = files;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Whether {@code folder} is a folder holding {@code model.safetensors} or {@code model.safetensors.index.json}. */
    public static boolean isCheckpointFolder(Path folder) {
        return Files.isDirectory(folder)
                && (Files.isRegularFile(folder.resolve(SINGLE_FILE)) || Files.isRegularFile(folder.resolve(INDEX_FILE)));
    }

    /**
     * Opens a checkpoint folder (preferring {@code model.safetensors} over an index, as transformers does) or a single
     * {@code .safetensors} file, and checks every header: header length, JSON, dtypes, shapes against
     * {@code data_offsets}, offsets against the file size, overlaps, and the index against the shards.
     *
     * @throws ModelFormatException naming the file and tensor at fault, when the checkpoint is unusable
     * @throws UncheckedIOException when a file cannot be read
     */
    public static SafetensorsCheckpoint open(Path path) {
        if (Files.isRegularFile(path)) {
            return openFiles(path, List.of(path), null);
        }
        if (!Files.isDirectory(path)) {
            throw new ModelFormatException(path, "no such file or folder");
        }
        if (Files.isRegularFile(path.resolve(SINGLE_FILE))) {
            return openFiles(path, List.of(path.resolve(SINGLE_FILE)), null);
        }
        Path index = path.resolve(INDEX_FILE);
        if (!Files.isRegularFile(index)) {
            throw new ModelFormatException(path, "not an HF checkpoint folder: expected " + SINGLE_FILE + " or "
                    + INDEX_FILE + " in it");
        }
        Map<String, Path> weightMap = readIndex(path, index);
        List<Path> shards = new ArrayList<>(new TreeMap<>(invert(weightMap)).keySet());
        return openFiles(path, shards, weightMap);
    }

    private static SafetensorsCheckpoint openFiles(Path path, List<Path> shardFiles, Map<String, Path> weightMap) {
        Map<Path, MappedFile> open = new LinkedHashMap<>();
        try {
            Map<Path, Map<String, TensorInfo>> headers = new LinkedHashMap<>();
            for (Path shard : shardFiles) {
                if (!Files.isRegularFile(shard)) {
                    String example = weightMap == null ? "" : " (it should hold tensor '" + invert(weightMap).get(shard).get(0) + "')";
                    throw new ModelFormatException(shard, "shard listed in " + INDEX_FILE + " does not exist" + example);
                }
                MappedFile f = MappedFile.open(shard);
                open.put(shard, f);
                headers.put(shard, SafetensorsHeader.read(f));
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            if (weightMap == null) {
                headers.values().forEach(tensors::putAll);
            } else {
                // File order: shard by shard, each in data order; only what the index names.
                for (Map<String, TensorInfo> header : headers.values()) {
                    for (TensorInfo t : header.values()) {
                        if (t.file().equals(weightMap.get(t.name()))) {
                            tensors.put(t.name(), t);
                        }
                    }
                }
                for (Map.Entry<String, Path> e : weightMap.entrySet()) {
                    if (!tensors.containsKey(e.getKey())) {
                        throw new ModelFormatException(e.getValue(), "tensor '" + e.getKey() + "' is listed for this shard in "
                                + path.resolve(INDEX_FILE) + ", but the shard has no such tensor");
                    }
                }
            }
            return new SafetensorsCheckpoint(path, open, tensors);
        } catch (RuntimeException e) {
            open.values().forEach(MappedFile::close);
            throw e;
        }
    }

    /** The index's weight_map, tensor name to shard path, with every shard name checked to be a plain file name. */
    private static Map<String, Path> readIndex(Path folder, Path index) {
        JsonNode root;
        try {
            // Mixtral 8x7B's index is 90 KB; the largest real ones (thousands of tensors) a few MB.
            root = SafetensorsHeader.JSON.readTree(BoundedFiles.readUtf8(index, INDEX_FILE, 16 << 20));
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(index, "not valid JSON: " + JsonErrors.oneLine(e), e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + index, e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new ModelFormatException(index, "expected a non-empty object \"weight_map\" of tensor name to shard file");
        }
        Map<String, Path> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shard = e.getValue();
            String fileName = shard.isTextual() ? shard.asText() : null;
            // A shard must be a file in this folder: refuse "../x", "/etc/x" and sub-folders.
            if (fileName == null || fileName.isEmpty() || fileName.equals(".") || fileName.equals("..")
                    || fileName.contains("/") || fileName.contains("\\")) {
                throw new ModelFormatException(index, "tensor '" + e.getKey() + "': expected a shard file name in this folder, found "
                        + shard);
            }
            weightMap.put(e.getKey(), folder.resolve(fileName));
        }
        return weightMap;
    }

    private static Map<Path, List<String>> invert(Map<String, Path> weightMap) {
        Map<Path, List<String>> byShard = new LinkedHashMap<>();
        weightMap.forEach((name, shard) -> byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(name));
        return byShard;
    }

    /** The folder (or the single file) this checkpoint was opened from. */
    @Override
    public Path path() {
        return path;
    }

    /** The safetensors files, in order. */
    public List<Path> files() {
        return List.copyOf(files.keySet());
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}, or null. */
    public TensorInfo tensor(String name) {
        return tensors.get(name);
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
        if (!tensor.equals(tensors.get(tensor.name()))) {
            throw new IllegalArgumentException(tensor + " in " + tensor.file() + " is not a tensor of " + path);
        }
        return files.get(tensor.file()).slice(tensor, offset, length);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (MappedFile f : files.values()) {
            try {
                f.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "safetensors " + path + " (" + files.size() + " files, " + tensors.size() + " tensors)";
    }
}
