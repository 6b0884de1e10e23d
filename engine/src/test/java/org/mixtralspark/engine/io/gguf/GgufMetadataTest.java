package org.mixtralspark.engine.io.gguf;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The typed getters name the file and the key, and say what was expected and what was found. */
class GgufMetadataTest {

    @TempDir
    Path tmp;

    private Path file;
    private GgufFile g;

    @BeforeEach
    void write() {
        file = tmp.resolve("m.gguf");
        new GgufWriter().putUInt32("llama.block_count", 32).putString("general.architecture", "llama")
                .putUInt64("huge", -1L).putInt64("wide", 1L << 40).putFloat64("f64", 0.25)
                .putInt32Array("ids", new int[]{1, 2}).putArray("wide_ids", GgufValueType.INT64, List.of(1L << 33))
                .write(file);
        g = GgufFile.open(file);
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        g.close();
    }

    @Test
    void missingKey() {
        assertFails(() -> g.getInt("llama.expert_count"), "'llama.expert_count' is missing");
        assertFails(() -> g.getString("tokenizer.ggml.model"), "'tokenizer.ggml.model' is missing");
    }

    @Test
    void wrongType() {
        assertFails(() -> g.getString("llama.block_count"), "'llama.block_count'", "expected a STRING", "found UINT32 32");
        assertFails(() -> g.getInt("general.architecture"), "'general.architecture'", "expected an integer", "STRING \"llama\"");
        assertFails(() -> g.getFloat("general.architecture"), "expected a FLOAT32");
        assertFails(() -> g.getBoolean("llama.block_count"), "expected a BOOL");
        assertFails(() -> g.getStringList("ids"), "'ids'", "expected an ARRAY of STRING", "found an ARRAY of INT32");
        assertFails(() -> g.getFloatArray("ids"), "expected an ARRAY of FLOAT32");
        assertFails(() -> g.getIntArray("general.architecture"), "expected an ARRAY");
        // a default only stands in for a missing key, never for a wrong type
        assertFails(() -> g.getInt("general.architecture", 3), "'general.architecture'");
    }

    @Test
    void valuesOutOfRange() {
        assertFails(() -> g.getLong("huge"), "'huge'", "UINT64 18446744073709551615");
        assertFails(() -> g.getInt("wide"), "'wide'", "fits in 32 bits", "1099511627776");
        assertFails(() -> g.getIntArray("wide_ids"), "'wide_ids'", "8589934592 at index 0");
    }

    @Test
    void widening() {
        assertEquals(32L, g.getLong("llama.block_count"));
        assertEquals(0.25f, g.getFloat("f64"));
        assertEquals(1L << 40, g.getLong("wide"));
    }

    private void assertFails(Executable call, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, call);
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "lacks \"" + f + "\": " + e.getMessage());
        }
    }
}
