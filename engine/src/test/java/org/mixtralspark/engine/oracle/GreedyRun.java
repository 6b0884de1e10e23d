package org.mixtralspark.engine.oracle;

import org.mixtralspark.engine.backend.cpu.Matmul;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.backend.cpu.BatchForward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs what the oracle harness ran, through the production forward pass: the whole prompt in one step with logits
 * at every position, then greedy decoding (argmax of the raw logits, lowest id on ties), one token per step.
 */
final class GreedyRun {

    /** Logits at every prompt position, (n_prompt, vocab). */
    final float[] promptLogits;
    /** Logits of each greedy step: step 0 is the last prompt position. */
    final List<float[]> stepLogits = new ArrayList<>();
    final int[] greedyIds;
    final int vocab;

    /** With an fp32 KV cache, as every comparison with the oracle's references runs. */
    GreedyRun(MixtralWeights weights, Matmul matmul, ThreadTeam team, int[] prompt, int steps) {
        this(weights, matmul, team, prompt, steps, KvType.F32);
    }

    GreedyRun(MixtralWeights weights, Matmul matmul, ThreadTeam team, int[] prompt, int steps, KvType kvType) {
        vocab = weights.config().vocabSize();
        // a small block size, so that a sequence spans many non-contiguous blocks
        PagedKvCache cache = new PagedKvCache(weights.config(), (prompt.length + steps) / 4 + 8, 4, kvType);
        BlockTable kv = new BlockTable();
        cache.allocator().reserve(new BlockTable(), 5); // blocks 0..1 go elsewhere: kv's blocks do not start at 0
        cache.allocator().reserve(kv, prompt.length + steps);
        BatchForward forward = new BatchForward(weights, matmul, team, cache);
        int n = prompt.length;
        int[] positions = new int[n];
        BlockTable[] caches = new BlockTable[n];
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) {
            positions[i] = i;
            caches[i] = kv;
            rows[i] = i;
        }
        promptLogits = forward.forward(prompt, positions, caches, rows);
        float[] last = Arrays.copyOfRange(promptLogits, (n - 1) * vocab, n * vocab);
        greedyIds = new int[steps];
        for (int s = 0; s < steps; s++) {
            stepLogits.add(last);
            int token = argmax(last);
            greedyIds[s] = token;
            if (s + 1 < steps) {
                last = forward.forward(new int[] {token}, new int[] {n + s}, new BlockTable[] {kv}, new int[] {0});
            }
        }
    }

    float[] positionLogits(int i) {
        return Arrays.copyOfRange(promptLogits, i * vocab, (i + 1) * vocab);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The k largest ids, ties to the lower id. */
    static int[] topK(float[] v, int k) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> v[a] != v[b] ? Float.compare(v[b], v[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = idx[i];
        }
        return out;
    }
}
