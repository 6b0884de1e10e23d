package org.mixtralspark.engine.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.model.gen.Checkpoint;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model-level problems in otherwise well-formed files: each names the file and the tensor or key. */
class ModelLoaderTest {

    private static final MixtralConfig C = new MixtralConfig(300, 32, 64, 2, 4, 2, 8, 4, 2, 1e6, 1e-5f, 64);

    @Test
    void aMissingTensorIsNamedWithItsExpectedShape(@TempDir Path tmp) {
        Checkpoint ckpt = RandomCheckpoints.create("t", C, 1);
        ckpt.tensors().remove("model.layers.1.block_sparse_moe.experts.3.w2.weight");
        Path dir = tmp.resolve("hf");
        CheckpointWriter.writeHf(ckpt, dir, GgmlType.F32, 1);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir));
        assertTrue(e.getMessage().contains("model.layers.1.block_sparse_moe.experts.3.w2.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("[32, 64]"), e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
    }

    @Test
    void aShapeThatContradictsTheConfigIsNamed(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("t", C, 1), file, GgmlType.F32, false);
        Path dir = tmp.resolve("hf");
        CheckpointWriter.writeHf(RandomCheckpoints.create("t", C, 1), dir, GgmlType.F32, 1);
        // the config claims a wider FFN than the tensors have
        String config = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\" : 64",
                "\"intermediate_size\" : 96");
        Files.writeString(dir.resolve("config.json"), config);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir));
        assertTrue(e.getMessage().contains("expected shape [96, 32]"), e.getMessage());
        assertTrue(e.getMessage().contains("found [64, 32]"), e.getMessage());
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    @Test
    void anInvalidConfigNamesTheKey(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("hf");
        CheckpointWriter.writeHf(RandomCheckpoints.create("t", C, 1), dir, GgmlType.F32, 1);
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"num_key_value_heads\" : 2", "\"num_key_value_heads\" : 3"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir));
        assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void aDenseModelIsTheOneExpertCase(@TempDir Path tmp) {
        MixtralConfig dense = new MixtralConfig(300, 32, 64, 2, 4, 2, 8, 1, 1, 1e4, 1e-5f, 64);
        Path file = tmp.resolve("dense.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("d", dense, 2), file, GgmlType.F32, false);
        try (LoadedModel m = ModelLoader.load(file)) {
            assertEquals(1, m.config().experts());
            assertEquals(1, m.weights().layers()[0].experts().length);
            assertEquals(null, m.weights().layers()[0].router());
        }
    }

    @Test
    void ropeRowMapPairsDimensionJWithJPlusHalf() {
        int[] map = ModelLoader.ropeInterleaveRowMap(2, 8);
        assertEquals(16, map.length);
        int[] head0 = {0, 4, 1, 5, 2, 6, 3, 7};
        for (int i = 0; i < 8; i++) {
            assertEquals(head0[i], map[i]);
            assertEquals(head0[i] + 8, map[8 + i]);
        }
    }
}
