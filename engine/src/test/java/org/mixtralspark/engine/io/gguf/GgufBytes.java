package org.mixtralspark.engine.io.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** A byte-level GGUF builder for hostile-file tests: writes exactly what it is told, checking nothing. */
final class GgufBytes {

    static final int F32 = 0;
    static final int Q8_0 = 8;

    private ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);

    /** Magic "GGUF", version, tensor count, KV count. */
    static GgufBytes header(int version, long tensorCount, long kvCount) {
        return new GgufBytes().u32(GgufParser.MAGIC).u32(version).u64(tensorCount).u64(kvCount);
    }

    GgufBytes u8(int v) {
        return ensure(1).put(b -> b.put((byte) v));
    }

    GgufBytes u32(int v) {
        return ensure(4).put(b -> b.putInt(v));
    }

    GgufBytes u64(long v) {
        return ensure(8).put(b -> b.putLong(v));
    }

    GgufBytes str(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        u64(bytes.length);
        return ensure(bytes.length).put(b -> b.put(bytes));
    }

    /** A STRING metadata entry. */
    GgufBytes kvString(String key, String value) {
        return str(key).u32(GgufValueType.STRING.id).str(value);
    }

    /** An UINT32 metadata entry. */
    GgufBytes kvU32(String key, int value) {
        return str(key).u32(GgufValueType.UINT32.id).u32(value);
    }

    /** A tensor info: name, n_dims, ne (ggml order), type id, offset. */
    GgufBytes tensor(String name, int type, long offset, long... ne) {
        str(name).u32(ne.length);
        for (long d : ne) {
            u64(d);
        }
        return u32(type).u64(offset);
    }

    GgufBytes padTo(int alignment) {
        while (buf.position() % alignment != 0) {
            u8(0);
        }
        return this;
    }

    GgufBytes zeros(int n) {
        return ensure(n).put(b -> b.put(new byte[n]));
    }

    int size() {
        return buf.position();
    }

    byte[] toArray() {
        return Arrays.copyOf(buf.array(), buf.position());
    }

    Path write(Path file) {
        try {
            Files.write(file, toArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    private GgufBytes ensure(int n) {
        if (buf.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(2 * buf.capacity(), buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buf.flip());
            buf = bigger;
        }
        return this;
    }

    private GgufBytes put(java.util.function.Consumer<ByteBuffer> w) {
        w.accept(buf);
        return this;
    }
}
