package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.backend.cpu.NativeKernels;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine option {@code cpuMath}: its default, its validation, and that it reaches the CPU backend. */
class CpuMathOptionTest {

    @Test
    void fastIsTheDefaultAndOnlyFastOrExactAreAccepted() {
        assertEquals("fast", EngineOptions.defaults().cpuMath());
        assertEquals("exact", EngineOptions.defaults().withCpuMath("exact").cpuMath());
        assertEquals("exact", EngineOptions.defaults().withCpuMath("exact").withThreads(3).withWeightMemory("heap")
                .withDevice("cpu").withKvCacheBytes(1 << 20).withContextLength(64).withMaxBatchSize(2).cpuMath(),
                "every with* keeps the mode");
        for (String bad : new String[] {"auto", "FAST", "", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> EngineOptions.defaults().withCpuMath(bad));
            assertTrue(e.getMessage().startsWith("CPU math = " + bad + ": must be fast or exact"), e.getMessage());
        }
    }

    /**
     * The Q4_K_M model's logprobs differ between the modes exactly when the native kernels are loaded (int8 vs fp32
     * activations); with {@code -Dmixtral.native=false} fast runs the exact kernels and gives the same numbers.
     */
    @Test
    void theModeReachesTheCpuBackend() {
        List<GenerationResult> fast = run("fast");
        List<GenerationResult> exact = run("exact");
        boolean anyDifferent = false;
        for (int i = 0; i < fast.size(); i++) {
            assertTrue(fast.get(i).ok() && exact.get(i).ok(), fast.get(i).error() + " / " + exact.get(i).error());
            for (int t = 0; t < fast.get(i).logprobs().size(); t++) {
                anyDifferent |= fast.get(i).logprobs().get(t).logprob() != exact.get(i).logprobs().get(t).logprob();
            }
            if (!NativeKernels.isAvailable()) {
                assertArrayEquals(exact.get(i).tokenIds(), fast.get(i).tokenIds());
            }
        }
        if (NativeKernels.isAvailable()) {
            assertTrue(anyDifferent, "fast mode must run the int8-activation kernels on Q4_K_M weights");
        } else {
            assertFalse(anyDifferent, "without the native library both modes run the exact kernels");
        }
    }

    private static List<GenerationResult> run(String mode) {
        Oracle.Reference ref = Oracle.reference("exact-f64", "kquant-q4_k_m");
        try (Engine e = Engines.open(Oracle.model("kquant-q4_k_m.gguf"),
                EngineOptions.defaults().withDevice("cpu").withThreads(2).withCpuMath(mode))) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (Oracle.Prompt p : ref.prompts()) {
                reqs.add(new GenerationRequest(p.name(), p.promptIds(), SamplingParams.builder().greedy()
                        .maxNewTokens(4).ignoreEos(true).logprobs(1).build()));
            }
            return e.generate(reqs);
        }
    }
}
