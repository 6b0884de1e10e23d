package org.mixtralspark.engine.backend.cuda;


import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.RopeScaling;
import org.mixtralspark.engine.oracle.Oracle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend against the CPU backend on an oracle model (skipped without a GPU): logits within the bf16
 * tolerance, and in the F32 mode identical greedy continuations ({@link Equivalence} states the tolerances).
 * scripts/gpu-check.sh runs the same comparison on more models through {@link GpuCheck}.
 */
class CudaEquivalenceGpuTest {

    @BeforeEach
    void requireCuda() {
        GpuAssumptions.requireCuda();
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void miniMistralAgreesWithTheCpu(Precision p) {
        try (LoadedModel m = ModelLoader.load(Oracle.model("mini-mistral-q8_0.gguf"))) {
            List<Equivalence.Result> results = Equivalence.compare(m.weights(), "mini-mistral-q8_0", p, 0, 2);
            for (Equivalence.Result r : results) {
                System.out.println(r);
                assertTrue(r.pass(), r.toString());
            }
        }
    }

    /**
     * RoPE scaling on the device: the llama3-scaled tiny Mixtral that RopeScalingModelTest checks against transformers
     * (its frequency table is the CPU's, {@code MixtralConfig.ropeInverseFrequencies}).
     */
    @ParameterizedTest
    @EnumSource(Precision.class)
    void aLlama3RopeScaledModelAgreesWithTheCpu(Precision p, @TempDir Path dir) throws IOException {
        Path folder = dir.resolve("rope-llama3");
        Files.createDirectories(folder);
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            try (InputStream in = getClass().getResourceAsStream("/rope/model/" + f)) {
                assertTrue(in != null, "test resource rope/model/" + f);
                Files.copy(in, folder.resolve(f));
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(folder.resolve("config.json").toFile());
        cfg.set("rope_scaling", json.readTree("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
                + " \"high_freq_factor\": 8.0, \"original_max_position_embeddings\": 1024}"));
        Files.writeString(folder.resolve("config.json"), cfg.toString());
        try (LoadedModel m = ModelLoader.load(folder)) {
            assertTrue(m.config().ropeScaling().kind() == RopeScaling.Kind.LLAMA3, m.config().ropeScaling().toString());
            for (Equivalence.Result r : Equivalence.compare(m.weights(), "rope-llama3", p, 0, 2)) {
                System.out.println(r);
                assertTrue(r.pass(), r.toString());
            }
        }
    }
}
