package org.mixtralspark.engine.backend.cuda;


import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.oracle.Oracle;

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
}
