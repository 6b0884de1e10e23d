package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.KvType;

import org.mixtralspark.engine.sampling.FinishReason;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The KV cache when it is full: requests wait for blocks, a running one that needs a block pre-empts the youngest,
 * which recomputes later — and every request still gets exactly the tokens it gets with a roomy cache.
 */
class KvCachePressureTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);
    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 4), model, GgmlType.Q8_0, false);
    }

    private static List<GenerationRequest> requests() {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] prompt = new int[10 + i];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = 3 + (i * 31 + j * 7) % 500;
            }
            reqs.add(new GenerationRequest("r" + i, prompt, SamplingParams.builder().temperature(0.8f)
                    .seed(100L + i).maxNewTokens(30).ignoreEos(true).build()));
        }
        return reqs;
    }

    @Test
    void aFullCachePreemptsAndRecomputesWithoutChangingAnyOutput() {
        List<GenerationResult> roomy;
        try (Engine e = Engines.open(model, EngineOptions.defaults().withDevice("cpu").withThreads(2))) {
            roomy = e.generate(requests());
        }
        long perBlock = PagedKvCache.bytesPerBlock(C, BlockAllocator.DEFAULT_BLOCK_SIZE, KvType.F16);
        // 5 blocks of 16 positions: each request grows to 3 blocks, so at most one or two run at once
        try (Engine e = Engines.open(model, EngineOptions.defaults().withDevice("cpu").withThreads(2)
                .withKvCacheBytes(5 * perBlock))) {
            List<GenerationResult> tight = e.generate(requests());
            for (int i = 0; i < roomy.size(); i++) {
                assertTrue(tight.get(i).ok(), tight.get(i).error());
                assertArrayEquals(roomy.get(i).tokenIds(), tight.get(i).tokenIds(), "request " + i);
                assertEquals(roomy.get(i).text(), tight.get(i).text());
            }
            assertTrue(((LocalEngine) e).preemptions() > 0, "the tight cache must have pre-empted someone");
        }
    }

    @Test
    void aSequenceLargerThanTheWholeCacheFailsWithTheSizes() {
        long perBlock = PagedKvCache.bytesPerBlock(C, BlockAllocator.DEFAULT_BLOCK_SIZE, KvType.F16);
        try (Engine e = Engines.open(model, EngineOptions.defaults().withDevice("cpu").withThreads(2)
                .withKvCacheBytes(2 * perBlock))) {
            int[] prompt = new int[40];
            java.util.Arrays.fill(prompt, 7);
            GenerationResult r = e.submit(new GenerationRequest("big", prompt,
                    SamplingParams.builder().greedy().maxNewTokens(4).build())).join();
            assertEquals(FinishReason.ERROR, r.finishReason());
            assertTrue(r.error().contains("3 KV cache blocks") && r.error().contains("has 2"), r.error());
            GenerationResult small = e.submit(new GenerationRequest("small", new int[] {1, 2, 3},
                    SamplingParams.builder().greedy().maxNewTokens(4).ignoreEos(true).build())).join();
            assertTrue(small.ok(), small.error());
            // a sequence that grows past the whole cache ends with length, keeping its tokens
            GenerationResult grows = e.submit(new GenerationRequest("grows", new int[] {1, 2, 3},
                    SamplingParams.builder().greedy().maxNewTokens(100).ignoreEos(true).build())).join();
            assertEquals(FinishReason.LENGTH, grows.finishReason(), grows.error());
            // 32 positions hold the prompt and 29 generated tokens; the 30th is sampled but never needs a slot
            assertEquals(2 * BlockAllocator.DEFAULT_BLOCK_SIZE - 3 + 1, grows.tokenIds().length);
        }
    }
}
