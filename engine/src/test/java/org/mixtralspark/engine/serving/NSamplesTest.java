package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.Seeds;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Engine#submitN}: the n samples of one request. Sample i is the request with n = 1 and seed
 * {@link Seeds#sampleSeed}(seed, i) run alone, bit for bit; sample 0 is what n = 1 gives; the prompt is computed once
 * for all of them; every KV block comes back.
 */
class NSamplesTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 11), model, GgmlType.Q8_0, false);
    }

    private static final int[] PROMPT = prompt(41);

    private static int[] prompt(int length) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 5 + (i * 37) % 480;
        }
        return p;
    }

    private static GenerationRequest request(int n) {
        return new GenerationRequest("row", PROMPT, SamplingParams.builder().temperature(1.0f).seed(1234L)
                .maxNewTokens(14).ignoreEos(true).logprobs(3).n(n).build());
    }

    private static EngineOptions options() {
        return EngineOptions.defaults().withDevice("cpu").withThreads(2);
    }

    @Test
    void eachSampleIsItsRequestAloneWithTheDerivedSeedAndThePromptIsComputedOnce() {
        int n = 5;
        List<GenerationResult> alone = new ArrayList<>();
        GenerationResult single;
        try (Engine e = Engines.open(model, options().withMaxBatchSize(1).withPrefixCache(false))) {
            for (int i = 0; i < n; i++) {
                // built by hand from the documented rule, not through Samples.of
                SamplingParams p = request(1).params().toBuilder().seed(Seeds.sampleSeed(1234L, i)).build();
                alone.add(e.submit(new GenerationRequest("row", PROMPT, p)).join());
            }
            single = e.submit(request(1)).join();
        }
        assertArrayEquals(single.tokenIds(), alone.get(0).tokenIds(), "sample 0 is the request's own seed");

        for (boolean prefixCache : new boolean[] {false, true}) {
            try (Engine e = Engines.open(model, options().withPrefixCache(prefixCache))) {
                List<GenerationResult> samples = e.submitN(request(n)).join();
                assertEquals(n, samples.size());
                Set<List<Integer>> distinct = new HashSet<>();
                for (int i = 0; i < n; i++) {
                    GenerationResult x = alone.get(i);
                    GenerationResult y = samples.get(i);
                    assertTrue(y.ok(), y.error());
                    assertEquals("row", y.id());
                    assertArrayEquals(x.tokenIds(), y.tokenIds(), "tokens of sample " + i);
                    assertEquals(x.logprobs(), y.logprobs(), "log-probabilities of sample " + i);
                    assertEquals(x.text(), y.text(), "text of sample " + i);
                    assertEquals(FinishReason.LENGTH, y.finishReason());
                    distinct.add(java.util.Arrays.stream(y.tokenIds()).boxed().toList());
                }
                assertTrue(distinct.size() > 1, "samples with different seeds at temperature 1 differ");
                EngineStats stats = e.stats();
                assertEquals(PROMPT.length, stats.promptTokens(), "the prompt is computed once for all samples");
                BlockAllocator blocks = ((LocalEngine) e).blocks();
                assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");

                List<GenerationResult> one = e.submitN(request(1)).join();
                assertEquals(1, one.size());
                assertArrayEquals(single.tokenIds(), one.get(0).tokenIds(), "n = 1 through submitN is submit");
            }
        }
    }

    @Test
    void aRandomSeedGivesSamplesOfTheirOwn() {
        GenerationRequest r = new GenerationRequest("r", PROMPT, SamplingParams.builder().temperature(1.0f)
                .maxNewTokens(12).ignoreEos(true).n(4).build());
        for (GenerationRequest s : Samples.of(r)) {
            assertEquals(null, s.params().seed());
            assertEquals(1, s.params().n());
        }
        try (Engine e = Engines.open(model, options())) {
            List<GenerationResult> samples = e.submitN(r).join();
            assertEquals(4, samples.size());
            samples.forEach(s -> assertEquals(12, s.tokenIds().length));
        }
    }

    @Test
    void badRequestsAndBadNAreRefused() {
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> SamplingParams.builder().n(SamplingParams.MAX_N + 1).build());
        assertTrue(tooMany.getMessage().startsWith("n = 65"), tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.builder().n(0).build());
        try (Engine e = Engines.open(model, options())) {
            GenerationResult direct = e.submit(request(3)).join();
            assertEquals(FinishReason.ERROR, direct.finishReason());
            assertTrue(direct.error().contains("n = 3"), direct.error());
            assertThrows(IllegalArgumentException.class, () -> e.submitSamples(List.of(request(2))));

            GenerationRequest tooLong = new GenerationRequest("long", prompt(300),
                    SamplingParams.builder().n(3).seed(1L).build());
            List<GenerationResult> failed = e.submitN(tooLong).join();
            assertEquals(3, failed.size());
            for (GenerationResult f : failed) {
                assertEquals(FinishReason.ERROR, f.finishReason());
                assertTrue(f.error().contains("context"), f.error());
            }
        }
    }
}
