package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --weight-memory: weights copied to the heap or read from the mapped file give the same bits. */
class WeightMemoryTest {

    @Test
    void theOptionTakesAutoHeapOrMapped() {
        for (String ok : new String[] {"auto", "heap", "mapped"}) {
            assertEquals(ok, EngineOptions.defaults().withWeightMemory(ok).weightMemory());
        }
        assertEquals("mapped", EngineOptions.defaults().weightMemory(), "DESIGN §5: mapped, not copied, by default");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineOptions.defaults().withWeightMemory("disk"));
        assertEquals("weight memory = disk: must be auto, heap or mapped", e.getMessage());
    }

    @Test
    void autoCopiesOnlyWhatFitsInTheFreeHeap() {
        assertTrue(Engines.weightsOnHeap("heap", 1L << 40, 0), "heap is forced, even past the heap's size");
        assertFalse(Engines.weightsOnHeap("mapped", 1, 0));
        assertFalse(Engines.weightsOnHeap("auto", 0, 0), "nothing quantised, nothing to copy");
        assertTrue(Engines.weightsOnHeap("auto", 1 << 20, 1 << 20));
        long max = Runtime.getRuntime().maxMemory();
        assertFalse(Engines.weightsOnHeap("auto", max, 0), "the whole heap leaves no room");
        assertFalse(Engines.weightsOnHeap("auto", max / 2, max / 2), "weights and KV cache together do not fit");
    }

    @ParameterizedTest
    @ValueSource(strings = {"kquant-q8_0.gguf", "kquant-q4_k_m.gguf", "kquant-f16.gguf", "kquant-bf16.gguf"})
    void heapAndMappedWeightsGiveTheSameTokensAndLogprobs(String file) {
        Oracle.Reference ref = Oracle.reference("exact-f64", file.replace(".gguf", ""));
        List<GenerationResult> mapped = run(file, "mapped", ref);
        List<GenerationResult> heap = run(file, "heap", ref);
        for (int i = 0; i < mapped.size(); i++) {
            GenerationResult m = mapped.get(i);
            GenerationResult h = heap.get(i);
            assertTrue(m.ok() && h.ok(), m.error() + " / " + h.error());
            assertArrayEquals(m.tokenIds(), h.tokenIds(), file + " prompt " + m.id());
            assertEquals(12, m.logprobs().size());
            for (int t = 0; t < m.logprobs().size(); t++) {
                assertEquals(m.logprobs().get(t).logprob(), h.logprobs().get(t).logprob(), 0f,
                        file + " prompt " + m.id() + " token " + t);
            }
        }
    }

    private static List<GenerationResult> run(String file, String weightMemory, Oracle.Reference ref) {
        try (Engine e = Engines.open(Oracle.model(file), EngineOptions.defaults().withDevice("cpu").withThreads(2)
                .withWeightMemory(weightMemory).withKvType("f32"))) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (Oracle.Prompt p : ref.prompts()) {
                reqs.add(new GenerationRequest(p.name(), p.promptIds(), SamplingParams.builder().greedy()
                        .maxNewTokens(12).ignoreEos(true).logprobs(1).build()));
            }
            return e.generate(reqs);
        }
    }
}
