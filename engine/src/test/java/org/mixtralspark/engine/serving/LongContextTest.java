package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.backend.cpu.BatchForward;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long context (issue 10) on Mixtral 8x7B's attention layout (32 query heads, 8 KV heads of 128, context 32 768) with
 * tiny other dimensions: a long prompt prefilled in chunks reads every earlier chunk's keys and values correctly (the
 * engine's 512-token steps give the last logits of 2048-token chunks), fills a KV cache sized to it to the last block
 * (one block fewer is a clear row error), leaves every block free, and a prompt of the model's whole context is a row
 * error naming both counts.
 *
 * <p>The prompt is {@value #DEFAULT_TOKENS} tokens here, to keep the test well under a minute on two cores: the fp32
 * attention path costs about 30 s of CPU for each 4 096-token prefill on this layout, and attention is quadratic, so
 * 32 768 tokens cost 64 times that (about half an hour of CPU a prefill). {@code -Dmixtral.test.longContextTokens=N}
 * runs the same checks on N tokens (up to 32 765; the heap needs 256 MiB of KV cache per 32 768 tokens).
 */
class LongContextTest {

    private static final int DEFAULT_TOKENS = 2560;
    private static final int TOKENS = Integer.getInteger("mixtral.test.longContextTokens", DEFAULT_TOKENS);
    private static final MixtralConfig C = new MixtralConfig(300, 64, 64, 1, 32, 8, 128, 4, 2, 1e6, 1e-5f, 32768);
    private static final int NEW_TOKENS = 3;

    @TempDir
    static Path tmp;
    private static Path model;
    private static int[] prompt;

    @BeforeAll
    static void write() {
        model = tmp.resolve("long.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("long", C, 17), model, GgmlType.F32, false);
        prompt = ids(new SplittableRandom(3), Math.min(TOKENS, C.contextLength() - NEW_TOKENS));
    }

    private static int[] ids(SplittableRandom rnd, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + rnd.nextInt(C.vocabSize() - 3);
        }
        return ids;
    }

    /** The last position's logits, the prompt prefilled in steps of {@code chunk} tokens (exact math, f32 KV). */
    private static float[] lastLogits(int chunk) {
        try (LoadedModel m = ModelLoader.load(model);
             ThreadTeam team = new ThreadTeam(2, "long")) {
            int blockSize = BlockAllocator.DEFAULT_BLOCK_SIZE;
            PagedKvCache cache = new PagedKvCache(m.config(), (prompt.length + blockSize - 1) / blockSize,
                    blockSize, KvType.F32);
            BatchForward f = new BatchForward(m.weights(), CpuMath.exact(), team, cache);
            BlockTable t = new BlockTable();
            assertTrue(cache.allocator().reserve(t, prompt.length), "the cache holds the prompt");
            assertEquals(0, cache.allocator().freeBlocks(), "the prompt fills every block");
            float[] logits = null;
            for (int from = 0; from < prompt.length; from += chunk) {
                int n = Math.min(chunk, prompt.length - from);
                int[] ids = new int[n];
                int[] positions = new int[n];
                BlockTable[] tables = new BlockTable[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = prompt[from + i];
                    positions[i] = from + i;
                    tables[i] = t;
                }
                logits = f.forward(ids, positions, tables, new int[] {n - 1});
            }
            cache.allocator().release(t);
            assertEquals(cache.allocator().totalBlocks(), cache.allocator().freeBlocks());
            return logits;
        }
    }

    private static EngineOptions options(long kvBlocks) {
        long bytes = kvBlocks * PagedKvCache.bytesPerBlock(C, BlockAllocator.DEFAULT_BLOCK_SIZE, KvType.F32);
        return EngineOptions.defaults().withDevice("cpu").withThreads(2).withMaxBatchSize(1).withCpuMath("exact")
                .withKvType("f32").withKvCacheBytes(bytes).withPrefixCache(false);
    }

    private static GenerationRequest request(String id, int[] ids) {
        return new GenerationRequest(id, ids, SamplingParams.builder().greedy().maxNewTokens(NEW_TOKENS)
                .ignoreEos(true).logprobs(1).build());
    }

    @Test
    void aLongPromptPrefilledInChunksFillsTheCacheGivesTheUnchunkedLogitsAndFreesEveryBlock() {
        float[] large = lastLogits(2048);

        // through the engine, whose scheduler prefills 512 tokens a step: the prompt and its new tokens need every
        // block of a cache sized to them; the first token is the argmax of the 2048-token chunks' logits, with their
        // log-probability (each token's arithmetic does not depend on the step it is in)
        long blocks = (prompt.length + NEW_TOKENS - 1 + BlockAllocator.DEFAULT_BLOCK_SIZE - 1)
                / BlockAllocator.DEFAULT_BLOCK_SIZE;
        try (Engine e = Engines.open(model, options(blocks))) {
            assertEquals(C.contextLength(), e.model().contextLength(), "the model's context, not capped");
            GenerationResult r = e.generate(List.of(request("long", prompt))).get(0);
            assertTrue(r.ok(), r.error());
            assertEquals(NEW_TOKENS, r.tokenIds().length);
            int best = 0;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < large.length; v++) {
                if (large[v] > max) {
                    max = large[v];
                    best = v;
                }
            }
            double sum = 0;
            for (float x : large) {
                sum += Math.exp(x - max);
            }
            assertEquals(best, r.tokenIds()[0], "greedy first token");
            assertEquals(-Math.log(sum), r.logprobs().get(0).logprob(), 1e-5, "its log-probability");
            BlockAllocator allocator = ((LocalEngine) e).blocks();
            assertEquals(blocks, allocator.totalBlocks());
            assertEquals(allocator.totalBlocks(), allocator.freeBlocks(), "every block is free again");
        }
        // one block fewer cannot hold the sequence: a row error that says so, not a hang or a crash
        try (Engine e = Engines.open(model, options(blocks - 1))) {
            GenerationResult r = e.generate(List.of(request("short-of-one", prompt))).get(0);
            boolean clearError = !r.ok() && r.error().contains("KV cache blocks");
            boolean cutShort = r.ok() && r.finishReason() == FinishReason.LENGTH
                    && r.tokenIds().length < NEW_TOKENS;
            assertTrue(clearError || cutShort, r.finishReason() + " " + r.tokenIds().length + " " + r.error());
        }
    }

    @Test
    void aPromptAsLongAsTheContextIsARowErrorNamingBothCounts() {
        try (Engine e = Engines.open(model, options(8))) {
            int[] whole = ids(new SplittableRandom(5), C.contextLength());
            List<GenerationResult> rs = e.generate(List.of(request("whole", whole),
                    request("short", ids(new SplittableRandom(6), 20))));
            assertEquals(FinishReason.ERROR, rs.get(0).finishReason());
            assertTrue(rs.get(0).error().contains("the prompt has 32768 tokens"), rs.get(0).error());
            assertTrue(rs.get(0).error().contains("the context length is 32768"), rs.get(0).error());
            assertTrue(rs.get(1).ok(), "the next row runs: " + rs.get(1).error());
        }
    }
}
