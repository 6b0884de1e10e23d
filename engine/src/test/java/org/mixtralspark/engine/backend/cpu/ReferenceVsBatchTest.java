package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.kv.KvType;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cpu.Matmul;
import org.mixtralspark.engine.backend.cpu.ScalarMatmul;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.Checkpoint;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The production path (batched, Vector API, threads) against the reference path (one token at a time, sums in
 * double) on generated models in every file format we write, and batch invariance: a sequence's logits do not depend
 * on what else is in the batch.
 */
class ReferenceVsBatchTest {

    private static final MixtralConfig TINY = new MixtralConfig(300, 64, 96, 2, 4, 2, 16, 4, 2, 1e6, 1e-5f, 256);
    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "ref");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    @Test
    void batchedMatchesReferenceOnEveryFormat(@TempDir Path tmp) {
        Checkpoint ckpt = RandomCheckpoints.create("t", TINY, 5);
        Path[] files = {tmp.resolve("hf-f32"), tmp.resolve("hf-bf16"), tmp.resolve("f32.gguf"),
                tmp.resolve("f16.gguf"), tmp.resolve("q8_0.gguf"), tmp.resolve("split.gguf")};
        CheckpointWriter.writeHf(ckpt, files[0], GgmlType.F32, 2);
        CheckpointWriter.writeHf(ckpt, files[1], GgmlType.BF16, 1);
        CheckpointWriter.writeGguf(ckpt, files[2], GgmlType.F32, false);
        CheckpointWriter.writeGguf(ckpt, files[3], GgmlType.F16, false);
        CheckpointWriter.writeGguf(ckpt, files[4], GgmlType.Q8_0, false);
        CheckpointWriter.writeGguf(ckpt, files[5], GgmlType.F32, true);
        int[] prompt = {1, 40, 7, 299, 12, 12, 5, 260, 100, 3, 77};
        float[] hfF32 = null;
        for (Path f : files) {
            try (LoadedModel m = ModelLoader.load(f)) {
                ReferenceForward ref = new ReferenceForward(m.weights());
                ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), prompt.length);
                float[] expected = null;
                for (int t : prompt) {
                    expected = ref.forward(seq, t);
                }
                for (Matmul mm : new Matmul[] {CpuMath.exact(), new ScalarMatmul()}) {
                    float[] actual = last(new BatchForward(m.weights(), mm, team, cache(m)), prompt);
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(expected[i], actual[i], 1e-3, f.getFileName() + " " + mm.getClass()
                                .getSimpleName() + " logit " + i);
                    }
                }
                if (hfF32 == null) {
                    hfF32 = expected;
                } else if (f.getFileName().toString().equals("f32.gguf")
                        || f.getFileName().toString().equals("split.gguf")) {
                    // the same F32 weights in another file: the same logits (HF q/k rows permuted at load)
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(hfF32[i], expected[i], 1e-4, f.getFileName() + " vs hf-f32 logit " + i);
                    }
                }
            }
        }
    }

    @Test
    void aSequencesLogitsDoNotDependOnTheRestOfTheBatch(@TempDir Path tmp) {
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("t", TINY, 9), file, GgmlType.Q8_0, false);
        try (LoadedModel m = ModelLoader.load(file)) {
            int[] a = {1, 5, 9, 13, 200};
            int[] b = {1, 250, 251, 252, 3, 4, 8};
            PagedKvCache aloneCache = cache(m);
            BatchForward alone = new BatchForward(m.weights(), CpuMath.exact(), team, aloneCache);
            BlockTable ta = new BlockTable();
            aloneCache.allocator().reserve(ta, 16);
            float[] aPrompt = alone.forward(a, range(a.length), repeat(ta, a.length), new int[] {a.length - 1});
            float[] aNext = alone.forward(new int[] {42}, new int[] {a.length}, new BlockTable[] {ta}, new int[] {0});

            // a's prompt in the same step as b's prompt, then a decode step of both together; b's blocks first,
            // so a's blocks differ from the run alone
            PagedKvCache sharedCache = cache(m);
            BatchForward shared = new BatchForward(m.weights(), CpuMath.exact(), team, sharedCache);
            BlockTable kb = new BlockTable();
            BlockTable ka = new BlockTable();
            sharedCache.allocator().reserve(kb, 16);
            sharedCache.allocator().reserve(ka, 16);
            int n = a.length + b.length;
            int[] tokens = new int[n];
            int[] pos = new int[n];
            BlockTable[] tables = new BlockTable[n];
            for (int i = 0; i < n; i++) {
                boolean isA = i < a.length;
                tokens[i] = isA ? a[i] : b[i - a.length];
                pos[i] = isA ? i : i - a.length;
                tables[i] = isA ? ka : kb;
            }
            float[] both = shared.forward(tokens, pos, tables, new int[] {a.length - 1, n - 1});
            assertArrayEquals(aPrompt, Arrays.copyOf(both, aPrompt.length), "prefill together == alone, bit for bit");
            float[] nextBoth = shared.forward(new int[] {42, 43}, new int[] {a.length, b.length},
                    new BlockTable[] {ka, kb}, new int[] {0, 1});
            assertArrayEquals(aNext, Arrays.copyOf(nextBoth, aNext.length), "decode together == alone");
        }
    }

    private static PagedKvCache cache(LoadedModel m) {
        return new PagedKvCache(m.config(), 64, 4, KvType.F32);
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static BlockTable[] repeat(BlockTable t, int n) {
        BlockTable[] r = new BlockTable[n];
        Arrays.fill(r, t);
        return r;
    }

    private static float[] last(BatchForward f, int[] prompt) {
        PagedKvCache c = f.cache();
        BlockTable t = new BlockTable();
        c.allocator().reserve(t, prompt.length);
        return f.forward(prompt, range(prompt.length), repeat(t, prompt.length), new int[] {prompt.length - 1});
    }
}
