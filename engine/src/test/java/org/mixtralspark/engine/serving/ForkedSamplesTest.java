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
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Engine#submitSamples}: n samples of one prompt computed once and forked. Each sample's tokens and
 * log-probabilities are those of the same request run alone; the prompt is evaluated once; every block comes back.
 */
class ForkedSamplesTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 9), model, GgmlType.Q8_0, false);
    }

    /** Five samples of a 37-token prompt (two whole blocks and 5 positions): seeds, a greedy one, a stop id. */
    private static List<GenerationRequest> samples() {
        int[] prompt = new int[37];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 53) % 500;
        }
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            reqs.add(new GenerationRequest("s" + i, prompt, SamplingParams.builder().temperature(1.0f)
                    .seed(500L + i).maxNewTokens(10 + 6 * i).ignoreEos(true).logprobs(2).build()));
        }
        reqs.add(new GenerationRequest("greedy", prompt, SamplingParams.builder().greedy().maxNewTokens(12)
                .ignoreEos(true).logprobs(2).build()));
        return reqs;
    }

    private static EngineOptions options(boolean prefixCache) {
        return EngineOptions.defaults().withDevice("cpu").withThreads(2).withPrefixCache(prefixCache);
    }

    @Test
    void samplesShareOnePrefillAndGiveWhatEachRequestGivesAlone() {
        List<GenerationResult> alone = new ArrayList<>();
        try (Engine e = Engines.open(model, options(false).withMaxBatchSize(1))) {
            for (GenerationRequest r : samples()) {
                alone.add(e.submit(r).join());
            }
        }
        for (boolean prefixCache : new boolean[] {false, true}) {
            try (Engine e = Engines.open(model, options(prefixCache))) {
                List<GenerationResult> forked = new ArrayList<>();
                for (CompletableFuture<GenerationResult> f : e.submitSamples(samples())) {
                    forked.add(f.join());
                }
                for (int i = 0; i < alone.size(); i++) {
                    GenerationResult x = alone.get(i);
                    GenerationResult y = forked.get(i);
                    assertTrue(y.ok(), y.error());
                    assertEquals(x.id(), y.id());
                    assertArrayEquals(x.tokenIds(), y.tokenIds(), "tokens of " + x.id());
                    assertEquals(x.logprobs(), y.logprobs(), "log-probabilities of " + x.id());
                    assertEquals(x.text(), y.text());
                    assertEquals(FinishReason.LENGTH, y.finishReason());
                }
                EngineStats stats = e.stats();
                assertEquals(37, stats.promptTokens(), "the prompt is evaluated once for all five");
                assertEquals(5, stats.requests());
                BlockAllocator blocks = ((LocalEngine) e).blocks();
                assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");
            }
        }
    }

    @Test
    void samplesInACacheTooSmallForAllOfThemArePreemptedAndStillGiveTheSameOutputs() {
        List<GenerationResult> alone = new ArrayList<>();
        try (Engine e = Engines.open(model, options(false).withMaxBatchSize(1))) {
            for (GenerationRequest r : samples()) {
                alone.add(e.submit(r).join());
            }
        }
        // 6 blocks of 16: the prompt takes 3 (two whole, one partial); five samples sharing them need 4 copies of the
        // partial one at their first write, so some are pre-empted at once, and again when they grow past position 48
        long perBlock = org.mixtralspark.engine.backend.cpu.PagedKvCache.bytesPerBlock(C,
                BlockAllocator.DEFAULT_BLOCK_SIZE, options(true).kvStorage());
        for (boolean prefixCache : new boolean[] {false, true}) {
            try (Engine e = Engines.open(model, options(prefixCache).withKvCacheBytes(6 * perBlock))) {
                List<GenerationResult> forked = new ArrayList<>();
                for (CompletableFuture<GenerationResult> f : e.submitSamples(samples())) {
                    forked.add(f.join());
                }
                for (int i = 0; i < alone.size(); i++) {
                    assertTrue(forked.get(i).ok(), forked.get(i).error());
                    assertArrayEquals(alone.get(i).tokenIds(), forked.get(i).tokenIds(), "tokens of " + i);
                    assertEquals(alone.get(i).logprobs(), forked.get(i).logprobs(), "log-probabilities of " + i);
                }
                assertTrue(((LocalEngine) e).preemptions() > 0, "a cache this small pre-empts forked samples");
                BlockAllocator blocks = ((LocalEngine) e).blocks();
                assertEquals(6, blocks.totalBlocks());
                assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");
            }
        }
    }

    @Test
    void badSamplesAreRefusedOrFailAlone() {
        try (Engine e = Engines.open(model, options(true))) {
            assertThrows(IllegalArgumentException.class, () -> e.submitSamples(List.of()));
            List<GenerationRequest> mixed = new ArrayList<>(samples());
            mixed.add(new GenerationRequest("other", new int[] {1, 2, 3}, SamplingParams.builder().build()));
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> e.submitSamples(mixed));
            assertTrue(bad.getMessage().contains("other"), bad.getMessage());

            int[] tooLong = new int[300];
            java.util.Arrays.fill(tooLong, 5);
            List<CompletableFuture<GenerationResult>> refused = e.submitSamples(List.of(
                    new GenerationRequest("a", tooLong, SamplingParams.builder().build()),
                    new GenerationRequest("b", tooLong, SamplingParams.builder().build())));
            for (CompletableFuture<GenerationResult> f : refused) {
                GenerationResult r = f.join();
                assertEquals(FinishReason.ERROR, r.finishReason());
                assertTrue(r.error().contains("context"), r.error());
            }
        }
    }
}
