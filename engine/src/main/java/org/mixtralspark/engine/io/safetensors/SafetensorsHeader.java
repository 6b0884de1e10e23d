package org.mixtralspark.engine.io.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.JsonErrors;
import org.mixtralspark.engine.io.MappedFile;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and checks the header of one {@code .safetensors} file (format: 8-byte little-endian header length N, N
 * bytes of JSON, then the data; each entry {@code {"dtype", "shape", "data_offsets": [begin, end]}} with offsets
 * relative to the byte after the header; an optional {@code __metadata__} map of strings).
 */
final class SafetensorsHeader {

    /** The safetensors library's own limit (100 MB) on the JSON header: refuse a hostile length before reading it. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Jackson with duplicate keys rejected: a name twice in a header is corrupt, not "last one wins". */
    static final ObjectMapper JSON = new ObjectMapper(
            JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

    private SafetensorsHeader() {
    }

    /** The file's tensors by name, in data order, with absolute offsets checked against the file. */
    static Map<String, TensorInfo> read(MappedFile f) {
        Path file = f.path();
        long size = f.size();
        if (size < 8) {
            throw new ModelFormatException(file, "truncated safetensors file: expected an 8-byte header length, the file has "
                    + size + " bytes");
        }
        long headerLength = readBytes(f.channel(), file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new ModelFormatException(file, "safetensors header length " + Long.toUnsignedString(headerLength)
                    + " is impossible: expected at most " + Math.min(MAX_HEADER_BYTES, size - 8)
                    + " (the 100 MB limit and the " + size + "-byte file size)");
        }
        ByteBuffer json = readBytes(f.channel(), file, 8, (int) headerLength);
        // The reference library (0.4 on) refuses a header that does not open a JSON object at its first byte.
        if (headerLength == 0 || json.get(0) != '{') {
            throw new ModelFormatException(file, "safetensors header: expected a JSON object starting at byte 8, found "
                    + (headerLength == 0 ? "an empty header" : String.format("the byte %02x", json.get(0) & 0xFF))
                    + " (header length)");
        }
        // Decoded as strict UTF-8 first, as the reference library does (from_utf8, else InvalidHeader): given bytes,
        // Jackson would guess the encoding (UTF-16/32 from the first bytes) and fail with an IOException of its own.
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(json).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(file, "safetensors header is not valid UTF-8 (header length)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, "safetensors header is not valid JSON: " + JsonErrors.oneLine(e), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "safetensors header: expected a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;

        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals("__metadata__")) {
                checkMetadata(file, e.getValue()); // free-form strings ({"format": "pt"}); nothing the engine needs
                continue;
            }
            tensors.add(tensor(file, e.getKey(), e.getValue(), dataStart, dataSize));
        }
        // As the reference library's Metadata::validate: sorted by offsets, the tensors must tile the data section
        // exactly, the first at 0, each starting where the previous ends, the last ending at the end of the file.
        // A header length one byte off, or a tensor the header forgot, shows up here.
        tensors.sort(Comparator.comparingLong(TensorInfo::fileOffset).thenComparingLong(TensorInfo::byteSize));
        long expected = dataStart;
        TensorInfo prev = null;
        for (TensorInfo cur : tensors) {
            if (cur.fileOffset() < expected) {
                throw new ModelFormatException(file, "tensor '" + cur.name() + "': data_offsets start at "
                        + (cur.fileOffset() - dataStart) + ", inside tensor '" + prev.name() + "' which ends at "
                        + (expected - dataStart));
            }
            if (cur.fileOffset() > expected) {
                throw new ModelFormatException(file, "tensor '" + cur.name() + "': data_offsets start at "
                        + (cur.fileOffset() - dataStart) + ", expected " + (expected - dataStart)
                        + " (tensors must follow each other with no gap; data_offsets)");
            }
            expected = cur.fileOffset() + cur.byteSize();
            prev = cur;
        }
        if (expected != size) {
            throw new ModelFormatException(file, "the data section has " + dataSize + " bytes, but the tensors cover "
                    + (expected - dataStart) + " (a wrong header length, or a tensor missing from the header; data_offsets)");
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
        return byName;
    }

    /** The reference library reads {@code __metadata__} as a map of string to string, and refuses anything else. */
    private static void checkMetadata(Path file, JsonNode metadata) {
        if (!metadata.isObject()) {
            throw new ModelFormatException(file, "safetensors header: expected an object of strings, found "
                    + metadata.getNodeType() + " (__metadata__)");
        }
        for (Map.Entry<String, JsonNode> e : metadata.properties()) {
            if (!e.getValue().isTextual()) {
                throw new ModelFormatException(file, "safetensors header: expected a string, found "
                        + e.getValue().getNodeType() + " (__metadata__." + e.getKey() + ")");
            }
        }
    }

    private static TensorInfo tensor(Path file, String name, JsonNode entry, long dataStart, long dataSize) {
        String what = "tensor '" + name + "'";
        if (!entry.isObject()) {
            throw new ModelFormatException(file, what + ": expected a JSON object, found " + entry.getNodeType());
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ModelFormatException(file, what + ": expected a string \"dtype\", found " + dtypeNode);
        }
        String dtype = dtypeNode.asText();
        GgmlType type = switch (dtype) {
            case "F32" -> GgmlType.F32;
            case "F16" -> GgmlType.F16;
            case "BF16" -> GgmlType.BF16;
            default -> throw new ModelFormatException(file, what + ": dtype " + dtype
                    + " is not supported: expected F32, F16 or BF16");
        };
        JsonNode shapeNode = entry.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new ModelFormatException(file, what + ": expected an array \"shape\", found " + shapeNode);
        }
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, what + " shape[" + i + "]", shapeNode.get(i));
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException ex) {
                throw new ModelFormatException(file, what + ": element count of shape " + shapeNode + " overflows 64 bits");
            }
        }
        JsonNode offsets = entry.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new ModelFormatException(file, what + ": expected \"data_offsets\": [begin, end], found " + offsets);
        }
        long begin = nonNegativeLong(file, what + " data_offsets[0]", offsets.get(0));
        long end = nonNegativeLong(file, what + " data_offsets[1]", offsets.get(1));
        if (begin > end || end > dataSize) {
            throw new ModelFormatException(file, what + ": data_offsets [" + begin + ", " + end
                    + "] must satisfy begin <= end <= " + dataSize + " (the bytes after the header; truncated file?)");
        }
        long expectedBytes;
        try {
            expectedBytes = type.bytesFor(count);
        } catch (ArithmeticException ex) {
            throw new ModelFormatException(file, what + ": byte size of shape " + shapeNode + " overflows 64 bits");
        }
        if (end - begin != expectedBytes) {
            throw new ModelFormatException(file, what + ": data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes, but shape " + shapeNode + " of " + dtype + " needs " + expectedBytes);
        }
        return new TensorInfo(file, name, type, shape, dataStart + begin, expectedBytes);
    }

    private static long nonNegativeLong(Path file, String what, JsonNode n) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new ModelFormatException(file, what + ": expected a non-negative integer, found " + n);
        }
        return n.asLong();
    }

    static ByteBuffer readBytes(FileChannel channel, Path file, long position, int length) {
        ByteBuffer buf = ByteBuffer.allocate(length);
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, position + buf.position()) < 0) {
                    throw new ModelFormatException(file, "file ended at offset " + (position + buf.position())
                            + " while reading " + length + " bytes at " + position + " (was it modified while being read?)");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
        return buf.flip();
    }
}
