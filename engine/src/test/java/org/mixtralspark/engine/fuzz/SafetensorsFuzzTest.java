package org.mixtralspark.engine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.safetensors.SafetensorsCheckpoint;

import java.nio.file.Path;

/**
 * The safetensors header of one file, and the shard index of a checkpoint folder (with one valid shard beside it).
 * Seeds: {@code SafetensorsFuzzTestInputs/} (written by {@link FuzzSeeds}).
 */
class SafetensorsFuzzTest {

    @FuzzTest
    void safetensorsFile(byte[] bytes) {
        Path file = Declared.write("m.safetensors", bytes);
        Declared.run(file, Declared.startsWith(file), () -> {
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(file)) {
                for (TensorInfo t : c.tensors().values()) {
                    c.bytes(t, 0, t.byteSize());
                }
            }
        });
    }

    @FuzzTest
    void safetensorsIndex(byte[] bytes) {
        Path dir = Declared.folder("sharded");
        Path shard = dir.resolve(FuzzSeeds.SHARD);
        if (!shard.toFile().isFile()) {
            FuzzSeeds.smallSafetensors().write(shard);
        }
        Path index = Declared.write("sharded/" + SafetensorsCheckpoint.INDEX_FILE, bytes);
        // An error may be about the index or about a shard it names: either file starts the message.
        Declared.run(index, m -> m.startsWith(index + ": ") || m.startsWith(dir.toString()), () -> {
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
                for (TensorInfo t : c.tensors().values()) {
                    c.bytes(t, 0, t.byteSize());
                }
            }
        });
    }
}
