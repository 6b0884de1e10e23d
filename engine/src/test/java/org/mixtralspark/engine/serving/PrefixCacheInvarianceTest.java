package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch invariance with prefix caching (issue 10): rows that share long heads get bit-identical token ids and
 * log-probabilities whether caching is on or off, and whether a row's head was computed by itself in the same step as
 * other rows, by itself over several steps (a chunked prompt), or by another row in an earlier step (taken from the
 * cache); and also when the cache is too small to keep everything (eviction, pre-emption), after which every block is
 * free again.
 */
class PrefixCacheInvarianceTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 1024);
    private static final int NEW_TOKENS = 12;

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 5), model, GgmlType.Q8_0, false);
    }

    /**
     * Three heads: 40 tokens (two whole blocks and a partial one), 530 tokens (more than a step's 512-token budget, so
     * its prefill is chunked), and 16 tokens (exactly one block); tails of 1 to 20 tokens; sampled at temperature 0.8
     * with a seed per row, three alternatives per log-probability.
     */
    private static List<GenerationRequest> requests() {
        SplittableRandom rnd = new SplittableRandom(11);
        int[][] heads = {randomIds(rnd, 40), randomIds(rnd, 530), randomIds(rnd, 16)};
        List<GenerationRequest> reqs = new ArrayList<>();
        int[] tails = {1, 7, 20, 3, 16, 9, 2, 13, 5};
        for (int i = 0; i < tails.length; i++) {
            int[] head = heads[i % heads.length];
            int[] prompt = new int[head.length + tails[i]];
            System.arraycopy(head, 0, prompt, 0, head.length);
            System.arraycopy(randomIds(rnd, tails[i]), 0, prompt, head.length, tails[i]);
            reqs.add(new GenerationRequest("r" + i, prompt, SamplingParams.builder().temperature(0.8f)
                    .seed(1000L + i).maxNewTokens(NEW_TOKENS).ignoreEos(true).logprobs(3).build()));
        }
        // a row that is exactly a head: a prompt of whole blocks, whose last block is recomputed for its logits
        reqs.add(new GenerationRequest("whole", heads[2].clone(), SamplingParams.builder().greedy()
                .maxNewTokens(NEW_TOKENS).ignoreEos(true).logprobs(3).build()));
        return reqs;
    }

    private static int[] randomIds(SplittableRandom rnd, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + rnd.nextInt(C.vocabSize() - 3);
        }
        return ids;
    }

    private static EngineOptions options(boolean prefixCache, int maxBatch) {
        return EngineOptions.defaults().withDevice("cpu").withThreads(2).withMaxBatchSize(maxBatch)
                .withPrefixCache(prefixCache);
    }

    /** Runs the requests all at once and checks that the engine ends with every block free. */
    private static List<GenerationResult> run(EngineOptions options, List<GenerationRequest> before) {
        try (Engine e = Engines.open(model, options)) {
            if (!before.isEmpty()) {
                e.generate(before);
            }
            List<GenerationResult> out = e.generate(requests());
            BlockAllocator blocks = ((LocalEngine) e).blocks();
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free (or cached, unheld) again");
            return out;
        }
    }

    private static void assertSame(List<GenerationResult> expected, List<GenerationResult> actual, String how) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            GenerationResult x = expected.get(i);
            GenerationResult y = actual.get(i);
            assertTrue(y.ok(), how + ": " + y.error());
            assertArrayEquals(x.tokenIds(), y.tokenIds(), how + ": token ids of " + x.id());
            assertEquals(x.logprobs(), y.logprobs(), how + ": log-probabilities of " + x.id());
        }
    }

    private static long cached(List<GenerationResult> results) {
        return results.stream().mapToLong(GenerationResult::cachedPromptTokens).sum();
    }

    @Test
    void rowsSharingHeadsGetBitIdenticalOutputsWithCachingOnOrOffWhoeverComputedTheHead() {
        // the reference: no cache, one row at a time (nobody shares a step or a block)
        List<GenerationResult> alone = run(options(false, 1), List.of());
        assertEquals(0, cached(alone));

        // no cache, every row in the same steps: each computes its own head beside the others
        assertSame(alone, run(options(false, 32), List.of()), "off, batched");

        // cache on, every row at once: rows admitted in the same step each compute their head in that step
        List<GenerationResult> together = run(options(true, 32), List.of());
        assertSame(alone, together, "on, batched");

        // cache on, one row at a time: every row after the first of its head takes it from an earlier row
        List<GenerationResult> oneByOne = run(options(true, 1), List.of());
        assertSame(alone, oneByOne, "on, one at a time");
        // heads of 40, 530 and 16 tokens hold 2, 33 and 1 whole blocks; the later rows of each head reuse them all,
        // except that a prompt never takes its last token from the cache (the 16-token head plus a 16-token tail, and
        // the 'whole' row, recompute their last block)
        assertTrue(cached(oneByOne) >= 2 * 32 + 2 * 33 * 16 + 16, "reused " + cached(oneByOne));
        assertEquals(0, oneByOne.get(oneByOne.size() - 1).cachedPromptTokens(), "'whole' is the 16-token head "
                + "alone: its one block holds its last token, whose logits must be computed, so nothing is reused");
        assertEquals(32, oneByOne.get(3).cachedPromptTokens(), "r3 = the 40-token head + 3: its two whole blocks");
        assertEquals(33 * 16, oneByOne.get(4).cachedPromptTokens(), "r4 = the 530-token head + 16: 33 blocks");

        // cache on, the heads computed by other requests before, then every row batched with the others
        List<GenerationRequest> warm = new ArrayList<>();
        for (GenerationRequest r : requests().subList(0, 3)) {
            warm.add(new GenerationRequest("warm-" + r.id(), r.promptIds(), SamplingParams.builder().greedy()
                    .maxNewTokens(3).build()));
        }
        List<GenerationResult> warmed = run(options(true, 32), warm);
        assertSame(alone, warmed, "on, heads cached by earlier requests");
        assertTrue(warmed.subList(0, warmed.size() - 1).stream().allMatch(r -> r.cachedPromptTokens() >= 16),
                "every row but 'whole' found its head");
    }

    @Test
    void aCacheTooSmallToKeepEverythingEvictsAndStillGivesTheSameOutputs() {
        List<GenerationResult> alone = run(options(false, 1), List.of());
        // room for the longest row (530 + 20 + 12 positions = 36 blocks) and a little more, not for all the heads
        long perBlock = PagedKvCache.bytesPerBlock(C, BlockAllocator.DEFAULT_BLOCK_SIZE,
                options(true, 32).kvStorage());
        try (Engine e = Engines.open(model, options(true, 32).withKvCacheBytes(40 * perBlock))) {
            List<GenerationResult> tight = e.generate(requests());
            assertSame(alone, tight, "on, tight cache");
            BlockAllocator blocks = ((LocalEngine) e).blocks();
            assertEquals(40, blocks.totalBlocks());
            assertTrue(blocks.evictions() > 0, "a cache this small must evict cached heads");
            assertTrue(((LocalEngine) e).preemptions() > 0, "and pre-empt running rows");
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "no block leaked: all free once the engine drains");
            // a second round finds what is still cached and gives the same outputs again
            assertSame(alone, e.generate(requests()), "on, tight cache, second round");
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks());
        }
    }
}
