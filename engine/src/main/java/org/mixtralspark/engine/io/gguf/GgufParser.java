package org.mixtralspark.engine.io.gguf;

import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and checks a GGUF header (GGUF spec, "File Structure"): magic, version, counts, metadata key-values, tensor
 * infos, and the aligned start of the tensor data. A hostile header is answered with {@link ModelFormatException}
 * before anything proportional to a claimed count is allocated: each count is first checked against the bytes left
 * in the file, each dimension and size with exact arithmetic, each tensor's bytes against the file's end and against
 * its neighbours.
 */
final class GgufParser {

    /** "GGUF" read as a little-endian uint32 (spec: {@code uint32_t magic = 0x46554747}). */
    static final int MAGIC = 0x46554747;
    /** Spec: "general.alignment ... If not specified, the default is 32." */
    static final int DEFAULT_ALIGNMENT = 32;
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** Spec: keys are at most 2^16 - 1 bytes (real keys are under 64: "tokenizer.ggml.add_space_prefix"). */
    static final int MAX_NAME_LENGTH = 65_535;
    /** ggml's GGML_MAX_NAME (64, with the NUL): llama.cpp's gguf reader refuses a longer tensor name, and so do we. */
    static final int MAX_TENSOR_NAME_LENGTH = 63;
    /**
     * Our limit on one metadata string value. The longest a real model has is {@code tokenizer.huggingface.json}, a
     * whole tokenizer.json (Gemma's 256k vocabulary: 17 MB); chat templates are kilobytes (the longest tool-calling
     * templates about 20 KB).
     */
    static final int MAX_STRING_LENGTH = 32 << 20;
    /**
     * Our limit on one string inside an array: vocabulary pieces and merges. Real pieces are short (the longest in
     * the Llama 3, Qwen2 and Gemma vocabularies are runs of a few hundred spaces or dashes, under 1 KB); 16 KiB leaves
     * room without letting one piece be megabytes.
     */
    static final int MAX_ARRAY_STRING_LENGTH = 16 << 10;
    /** Our sanity limit on one metadata array (the largest vocabularies have ~260k entries, merges ~280k). */
    static final int MAX_ARRAY_LENGTH = 1 << 24;
    /** Arrays of arrays are legal in the spec (llama.cpp rejects them); we accept a little nesting, not unbounded. */
    static final int MAX_ARRAY_DEPTH = 4;
    /** Our limit on tensors: Mixtral 8x7B has 995, the largest MoE files a few thousand. */
    static final long MAX_TENSOR_COUNT = 1 << 16;
    /** Our limit on metadata entries: real files have 20 to 60. */
    static final long MAX_KV_COUNT = 1 << 16;
    /**
     * Our limit on the whole header (metadata + tensor infos), all of which is decoded onto the heap: a 256k
     * vocabulary with scores, types, merges and an embedded tokenizer.json is about 40 MB.
     */
    static final long MAX_HEADER_BYTES = 256L << 20;

    /** Fewest bytes of a metadata entry: key length (8) + value type (4) + a one-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;
    /** Fewest bytes of a tensor info: name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8). */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

    /** What the header says. */
    record Header(int version, GgufMetadata metadata, Map<String, TensorInfo> tensors, int alignment, long dataStart) {
    }

    private final GgufHeaderReader in;
    private final Path file;

    private GgufParser(GgufHeaderReader in, Path file) {
        this.in = in;
        this.file = file;
    }

    static Header parse(GgufHeaderReader in, Path file) {
        return new GgufParser(in, file).parse();
    }

    private Header parse() {
        // Spec: magic, then uint32 version, then uint64 tensor_count, uint64 metadata_kv_count.
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw fail("not a GGUF file: expected magic bytes 'GGUF' (47 47 55 46), found " + hexBytes(magic));
        }
        int version = in.i32("version");
        checkVersion(version);
        long tensorCount = in.i64("tensor_count");
        long kvCount = in.i64("metadata_kv_count");
        checkCount("tensor_count", tensorCount, MIN_TENSOR_INFO_BYTES, in.remaining());
        checkCount("metadata_kv_count", kvCount, MIN_KV_BYTES, in.remaining());
        checkLimit("tensor_count", tensorCount, MAX_TENSOR_COUNT);
        checkLimit("metadata_kv_count", kvCount, MAX_KV_COUNT);
        // Each product is now at most remaining(), so the sum cannot overflow.
        long minHeaderBytes = tensorCount * MIN_TENSOR_INFO_BYTES + kvCount * MIN_KV_BYTES;
        if (minHeaderBytes > in.remaining()) {
            throw fail("tensor_count = " + tensorCount + " and metadata_kv_count = " + kvCount + " need at least "
                    + minHeaderBytes + " bytes, but the file has " + in.remaining() + " left (corrupt or truncated header)");
        }

        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, GgufValueType> types = new HashMap<>();
        Map<String, GgufValueType> elementTypes = new HashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("metadata key #" + i, MAX_NAME_LENGTH);
            if (key.isEmpty()) {
                throw fail("metadata key #" + i + " is empty");
            }
            if (values.containsKey(key)) {
                throw fail("metadata key '" + key + "' appears twice (second time as key #" + i + ")");
            }
            GgufValueType type = valueType(in.i32("type of metadata key '" + key + "'"), "metadata key '" + key + "'");
            if (type == GgufValueType.ARRAY) {
                GgufValueType[] elementType = new GgufValueType[1];
                values.put(key, readArray(key, 1, elementType));
                elementTypes.put(key, elementType[0]);
            } else {
                values.put(key, readScalar(type, key, MAX_STRING_LENGTH));
            }
            types.put(key, type);
        }
        GgufMetadata metadata = new GgufMetadata(file, values, types, elementTypes);
        int alignment = alignment(metadata);

        List<TensorInfo> infos = new ArrayList<>();
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            // Spec, gguf_tensor_info_t: name, uint32 n_dimensions, uint64 dimensions[n], ggml_type type, uint64 offset.
            String name = in.string("name of tensor #" + i, MAX_TENSOR_NAME_LENGTH);
            String what = "tensor '" + name + "'";
            if (byName.containsKey(name)) {
                throw fail(what + " appears twice (second time as tensor #" + i + ")");
            }
            int nDims = in.i32(what + " n_dimensions");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw fail(what + ": expected 1 to " + MAX_DIMS + " dimensions, found " + Integer.toUnsignedString(nDims));
            }
            long[] ne = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                ne[d] = in.i64(what + " dimension " + d);
                if (ne[d] <= 0) {
                    throw fail(what + ": dimension ne[" + d + "] must be positive, found " + Long.toUnsignedString(ne[d]));
                }
            }
            int typeId = in.i32(what + " type");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw fail(what + ": unknown ggml tensor type id " + Integer.toUnsignedString(typeId)
                        + " (known: " + Arrays.toString(GgmlType.values()) + ")");
            }
            long offset = in.i64(what + " offset");
            if (offset < 0 || offset % alignment != 0) {
                throw fail(what + ": data offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment "
                        + alignment);
            }
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                try {
                    elements = Math.multiplyExact(elements, ne[d]);
                } catch (ArithmeticException e) {
                    throw fail(what + ": element count of shape " + Arrays.toString(reversed(ne)) + " overflows 64 bits");
                }
            }
            // ggml quantises along ne[0], the contiguous row: each row must be whole blocks (gguf.cpp checks the same).
            if (ne[0] % type.blockSize != 0) {
                throw fail(what + ": row length ne[0] = " + ne[0] + " is not a multiple of the " + type + " block size "
                        + type.blockSize);
            }
            long byteSize;
            try {
                byteSize = type.bytesFor(elements);
            } catch (ArithmeticException e) {
                throw fail(what + ": byte size of " + elements + " " + type + " values overflows 64 bits");
            }
            // Shape row-major: ggml's ne[0] is the fastest-varying dimension, so it comes last.
            TensorInfo info = new TensorInfo(file, name, type, reversed(ne), offset, byteSize);
            infos.add(info);
            byName.put(name, info);
        }

        // Spec: "padding to the alignment ... tensor_data starts at an offset that is a multiple of ALIGNMENT".
        long headerEnd = in.position();
        long dataStart = alignUp(headerEnd, alignment);
        return new Header(version, metadata, placeTensors(infos, headerEnd, dataStart, alignment), alignment, dataStart);
    }

    /**
     * Makes offsets absolute and checks the data section exactly, as llama.cpp's gguf reader does: every tensor's
     * bytes inside the file, no overlaps, and each tensor at the offset the previous ones imply (tensor i + 1 starts
     * where tensor i ends, padded to the alignment; the first at 0). Then the data section must end with the last
     * tensor (its trailing padding optional): a file with bytes nobody accounts for was not written by a GGUF writer,
     * and is most often a header whose counts are wrong, every tensor then read from the wrong place.
     */
    private Map<String, TensorInfo> placeTensors(List<TensorInfo> infos, long headerEnd, long dataStart, int alignment) {
        long fileSize = in.fileSize();
        Map<String, TensorInfo> placed = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            long relative = t.fileOffset();
            long available = fileSize - dataStart; // may be negative when the file ends inside the padding
            if (relative > available || t.byteSize() > available - relative) {
                throw fail("tensor '" + t.name() + "': data [" + relative + ", " + (relative + t.byteSize())
                        + ") of the data section (which starts at " + dataStart + ") ends past the end of the file: "
                        + "expected a file of at least " + (dataStart + relative + t.byteSize()) + " bytes, found "
                        + fileSize + " (truncated?)");
            }
            placed.put(t.name(), new TensorInfo(file, t.name(), t.type(), t.shape(), dataStart + relative, t.byteSize()));
        }
        List<TensorInfo> byOffset = new ArrayList<>(placed.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::fileOffset));
        for (int i = 1; i < byOffset.size(); i++) {
            TensorInfo prev = byOffset.get(i - 1);
            TensorInfo cur = byOffset.get(i);
            if (cur.fileOffset() < prev.fileOffset() + prev.byteSize()) {
                throw fail("tensor '" + cur.name() + "' at offset " + cur.fileOffset() + " overlaps tensor '"
                        + prev.name() + "' at [" + prev.fileOffset() + ", " + (prev.fileOffset() + prev.byteSize()) + ")");
            }
        }
        // gguf.cpp: "if (ti.offset != ctx->size) ... has offset %zu, expected %zu"; ctx->size += GGML_PAD(nbytes).
        // Every size is under the file size here, so the running sum cannot overflow.
        long expected = 0;
        long lastEnd = 0;
        for (TensorInfo t : infos) {
            if (t.fileOffset() != expected) {
                throw fail("tensor '" + t.name() + "': data offset " + t.fileOffset() + ", expected " + expected
                        + " (tensors are stored in header order, each padded to the alignment " + alignment
                        + "; a gap means the header and the data disagree)");
            }
            lastEnd = expected + t.byteSize();
            expected = alignUp(lastEnd, alignment);
        }
        // With no tensors the file ends with the header, padded or not.
        long shortest = infos.isEmpty() ? headerEnd : dataStart + lastEnd;
        long longest = dataStart + expected;
        if (fileSize < shortest || fileSize > longest) {
            throw fail("the file has " + fileSize + " bytes, but its header accounts for " + shortest
                    + (shortest == longest ? "" : " to " + longest) + " (" + infos.size() + " tensors, data from offset "
                    + dataStart + "): " + (fileSize > longest ? (fileSize - longest) + " bytes follow the last tensor"
                    : "the data section is cut short") + " (tensor_count)");
        }
        return Collections.unmodifiableMap(placed);
    }

    private void checkLimit(String what, long count, long limit) {
        if (count > limit) {
            throw fail(what + " = " + count + " is over the limit of " + limit + " (no real model has that many)");
        }
    }

    private void checkVersion(int version) {
        if (version == 2 || version == 3) {
            return;
        }
        if (version == 1) {
            throw fail("GGUF version 1 is not supported (it used 32-bit counts and was replaced in 2023): "
                    + "expected version 2 or 3, found 1; re-convert the model with a current llama.cpp");
        }
        if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
            throw fail("big-endian GGUF files are not supported: expected a little-endian version 2 or 3, found "
                    + Integer.toUnsignedString(version) + " (" + Integer.reverseBytes(version) + " byte-swapped)");
        }
        throw fail("unsupported GGUF version: expected 2 or 3, found " + Integer.toUnsignedString(version));
    }

    /**
     * Rejects a count whose items could not fit in the rest of the file, each taking at least {@code minBytes};
     * this is what stops a header claiming 10^12 entries before any allocation or loop.
     */
    private void checkCount(String what, long count, long minBytes, long remaining) {
        if (count < 0 || minBytes < 0 || (count > 0 && minBytes > remaining / count)) {
            throw fail(what + " = " + Long.toUnsignedString(count) + " cannot fit in the " + remaining
                    + " bytes left in the file (each entry takes at least " + minBytes + " bytes; corrupt or truncated header)");
        }
    }

    private GgufValueType valueType(int id, String what) {
        GgufValueType type = GgufValueType.byId(id);
        if (type == null) {
            throw fail(what + ": unknown metadata value type id " + Integer.toUnsignedString(id));
        }
        return type;
    }

    private Object readScalar(GgufValueType type, String key, int maxStringLength) {
        String what = "value of metadata key '" + key + "'";
        return switch (type) {
            case UINT8 -> (long) in.u8(what);
            case INT8 -> (long) (byte) in.u8(what);
            case UINT16 -> (long) in.u16(what);
            case INT16 -> (long) (short) in.u16(what);
            case UINT32 -> in.i32(what) & 0xFFFF_FFFFL;
            case INT32 -> (long) in.i32(what);
            case UINT64, INT64 -> in.i64(what);
            case FLOAT32 -> in.f32(what);
            case FLOAT64 -> in.f64(what);
            case BOOL -> {
                int b = in.u8(what);
                if (b > 1) {
                    throw fail("metadata key '" + key + "': expected a BOOL of 0 or 1, found " + b);
                }
                yield b == 1;
            }
            case STRING -> in.string(what, maxStringLength);
            case ARRAY -> throw new IllegalStateException("arrays are read by readArray");
        };
    }

    /** Spec: an array is uint32 element type, uint64 length, then the elements. */
    private List<Object> readArray(String key, int depth, GgufValueType[] elementTypeOut) {
        String what = "metadata key '" + key + "'";
        if (depth > MAX_ARRAY_DEPTH) {
            throw fail(what + ": arrays nested more than " + MAX_ARRAY_DEPTH + " deep");
        }
        GgufValueType elementType = valueType(in.i32(what + " array element type"), what + " array element");
        long length = in.i64(what + " array length");
        if (length < 0 || length > MAX_ARRAY_LENGTH) {
            throw fail(what + ": array length " + Long.toUnsignedString(length) + " is over the limit of "
                    + MAX_ARRAY_LENGTH + " elements");
        }
        checkCount(what + " array length", length, elementType.minEncodedSize, in.remaining());
        elementTypeOut[0] = elementType;
        // Grown as elements arrive, never pre-sized from the claimed length.
        List<Object> list = new ArrayList<>((int) Math.min(length, 1024));
        for (long i = 0; i < length; i++) {
            if (elementType == GgufValueType.ARRAY) {
                list.add(readArray(key, depth + 1, new GgufValueType[1]));
            } else {
                list.add(readScalar(elementType, key + "[" + i + "]", MAX_ARRAY_STRING_LENGTH));
            }
        }
        return Collections.unmodifiableList(list);
    }

    /** Spec: general.alignment is an uint32, a power of two; default 32. */
    private int alignment(GgufMetadata metadata) {
        String key = "general.alignment";
        if (!metadata.contains(key)) {
            return DEFAULT_ALIGNMENT;
        }
        long a = metadata.getLong(key);
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw fail("metadata key '" + key + "': expected a power of two up to 2^30, found " + a);
        }
        return (int) a;
    }

    private static long alignUp(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static long[] reversed(long[] ne) {
        long[] shape = new long[ne.length];
        for (int i = 0; i < ne.length; i++) {
            shape[i] = ne[ne.length - 1 - i];
        }
        return shape;
    }

    private static String hexBytes(int littleEndian) {
        return String.format("%02x %02x %02x %02x", littleEndian & 0xFF, (littleEndian >>> 8) & 0xFF,
                (littleEndian >>> 16) & 0xFF, (littleEndian >>> 24) & 0xFF);
    }

    private ModelFormatException fail(String what) {
        return new ModelFormatException(file, what);
    }
}
