package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sliding-window attention (Mistral v0.1's {@code sliding_window}; issue 10), read from config.json. Brute force: with
 * one layer, a token's output depends only on the tokens in its window, and RoPE only on their relative positions,
 * so the last logits of a long prompt are the logits of its last {@code W} tokens run alone from position 0. With
 * more layers the batched pass is checked against the reference forward pass, position by position.
 */
class SlidingWindowTest {

    private static final int WINDOW = 8;

    private static Path write(Path dir, int layers) {
        MixtralConfig c = new MixtralConfig(300, 64, 96, layers, 4, 2, 16, 4, 2, 1e6, 1e-5f, 256, WINDOW);
        Path folder = dir.resolve("sw-" + layers);
        CheckpointWriter.writeHf(RandomCheckpoints.create("sw", c, 13), folder, GgmlType.F32, 1);
        return folder;
    }

    private static int[] prompt(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + (i * 41) % 290;
        }
        return p;
    }

    /** The logits at every position of {@code prompt}, run as one step from position 0. */
    private static float[] run(BatchForward f, PagedKvCache cache, int[] prompt) {
        BlockTable t = new BlockTable();
        cache.allocator().reserve(t, prompt.length);
        int[] positions = new int[prompt.length];
        BlockTable[] tables = new BlockTable[prompt.length];
        int[] rows = new int[prompt.length];
        for (int i = 0; i < prompt.length; i++) {
            positions[i] = i;
            tables[i] = t;
            rows[i] = i;
        }
        float[] logits = f.forward(prompt, positions, tables, rows);
        cache.allocator().release(t);
        return logits;
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void withOneLayerTheLastLogitsAreThoseOfTheWindowAlone(KvType type, @TempDir Path dir) {
        try (LoadedModel m = ModelLoader.load(write(dir, 1));
             ThreadTeam team = new ThreadTeam(2, "sw")) {
            assertEquals(WINDOW, m.config().slidingWindow(), "read from config.json");
            assertEquals(256, m.config().contextLength(), "the context is not capped at the window");
            int vocab = m.config().vocabSize();
            PagedKvCache cache = new PagedKvCache(m.config(), 16, 4, type);
            BatchForward f = new BatchForward(m.weights(), CpuMath.exact(), team, cache);
            int[] full = prompt(30);
            float[] all = run(f, cache, full);
            for (int end = WINDOW; end <= full.length; end += 7) {
                float[] alone = run(f, cache, Arrays.copyOfRange(full, end - WINDOW, end));
                float maxDiff = 0;
                for (int v = 0; v < vocab; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(all[(end - 1) * vocab + v] - alone[(WINDOW - 1) * vocab + v]));
                }
                // the same arithmetic but for RoPE's angles (absolute positions, rounded differently), and with a
                // 16-bit cache for the rounding of keys rotated by other angles (measured: f16 0.0041, bf16 0.032)
                float bound = type == KvType.F32 ? 1e-3f : type == KvType.F16 ? 1e-2f : 1e-1f;
                assertTrue(maxDiff < bound, "position " + (end - 1) + ": " + maxDiff);
            }
            // inside the first window the window changes nothing
            float[] first = Arrays.copyOfRange(all, 0, WINDOW * vocab);
            float[] shortRun = run(f, cache, Arrays.copyOf(full, WINDOW));
            for (int i = 0; i < first.length; i++) {
                assertEquals(first[i], shortRun[i], "inside the first window nothing changes");
            }
        }
    }

    @Test
    void theBatchedPassMatchesTheReferenceWithAWindowAndDiffersFromFullAttention(@TempDir Path dir) {
        int[] full = prompt(25);
        float[] windowed;
        try (LoadedModel m = ModelLoader.load(write(dir, 3));
             ThreadTeam team = new ThreadTeam(2, "sw")) {
            int vocab = m.config().vocabSize();
            PagedKvCache cache = new PagedKvCache(m.config(), 16, 4, KvType.F32);
            windowed = run(new BatchForward(m.weights(), CpuMath.exact(), team, cache), cache, full);
            ReferenceForward ref = new ReferenceForward(m.weights());
            ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), full.length);
            float worst = 0;
            for (int i = 0; i < full.length; i++) {
                float[] r = ref.forward(seq, full[i]);
                for (int v = 0; v < vocab; v++) {
                    worst = Math.max(worst, Math.abs(r[v] - windowed[i * vocab + v]));
                }
            }
            assertTrue(worst < 1e-3f, "batched vs reference, both windowed: " + worst);
        }
        // the same weights with full attention: equal inside the first window, different after it
        MixtralConfig noWindow = new MixtralConfig(300, 64, 96, 3, 4, 2, 16, 4, 2, 1e6, 1e-5f, 256);
        Path folder = dir.resolve("full");
        CheckpointWriter.writeHf(RandomCheckpoints.create("sw", noWindow, 13), folder, GgmlType.F32, 1);
        try (LoadedModel m = ModelLoader.load(folder);
             ThreadTeam team = new ThreadTeam(2, "sw")) {
            int vocab = m.config().vocabSize();
            PagedKvCache cache = new PagedKvCache(m.config(), 16, 4, KvType.F32);
            float[] all = run(new BatchForward(m.weights(), CpuMath.exact(), team, cache), cache, full);
            for (int i = 0; i < WINDOW * vocab; i++) {
                assertEquals(all[i], windowed[i], "position " + i / vocab + " sees its whole past in both");
            }
            float last = 0;
            for (int v = 0; v < vocab; v++) {
                last = Math.max(last, Math.abs(all[(full.length - 1) * vocab + v]
                        - windowed[(full.length - 1) * vocab + v]));
            }
            assertTrue(last > 1e-2f, "past the window the outputs differ: " + last);
        }
    }
}
