package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.backend.ModelRunner;

import java.util.ArrayList;
import java.util.List;

/**
 * Drives any {@link ModelRunner} through what the scheduler does to it, so that two backends can be compared on the
 * same work: several sequences prefilled together in chunks (so attention reads the cache written by earlier steps),
 * then decoded together one token per step, their blocks reserved step by step in turn (so each sequence's blocks
 * are interleaved with the others' and not contiguous). The next token is the runner's own argmax (lowest id on
 * ties) or, with {@code forced}, the given one (teacher forcing, to compare logits along one path).
 */
final class Scenario {

    /**
     * @param logits logits[s][i]: sequence i's logits after its prompt (s = 0) and after each decoded token
     * @param tokens tokens[i][s]: the token chosen (or forced) at step s for sequence i
     */
    record Trace(float[][][] logits, int[][] tokens) {
    }

    private Scenario() {
    }

    static Trace run(ModelRunner r, int[][] prompts, int chunk, int steps, int[][] forced) {
        int n = prompts.length;
        int vocab = r.config().vocabSize();
        BlockTable[] tables = new BlockTable[n];
        for (int i = 0; i < n; i++) {
            tables[i] = new BlockTable();
        }
        float[][][] logits = new float[steps + 1][n][];
        int[][] tokens = new int[n][steps];
        int[] done = new int[n];
        try {
            // prefill in chunks of at most `chunk` tokens per sequence per step
            while (true) {
                List<Integer> seqs = new ArrayList<>();
                List<Integer> counts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (done[i] < prompts[i].length) {
                        int c = Math.min(chunk, prompts[i].length - done[i]);
                        reserve(r, tables[i], done[i] + c);
                        seqs.add(i);
                        counts.add(c);
                    }
                }
                if (seqs.isEmpty()) {
                    break;
                }
                int total = counts.stream().mapToInt(Integer::intValue).sum();
                int[] tok = new int[total];
                int[] pos = new int[total];
                BlockTable[] tab = new BlockTable[total];
                List<Integer> rows = new ArrayList<>();
                List<Integer> finishing = new ArrayList<>();
                int t = 0;
                for (int j = 0; j < seqs.size(); j++) {
                    int i = seqs.get(j);
                    for (int c = 0; c < counts.get(j); c++) {
                        tok[t] = prompts[i][done[i] + c];
                        pos[t] = done[i] + c;
                        tab[t] = tables[i];
                        t++;
                    }
                    done[i] += counts.get(j);
                    if (done[i] == prompts[i].length) {
                        rows.add(t - 1);
                        finishing.add(i);
                    }
                }
                int[] logitRows = rows.stream().mapToInt(Integer::intValue).toArray();
                float[] out = r.forward(Steps.of(tok, pos, tab, logitRows)).logits();
                for (int j = 0; j < finishing.size(); j++) {
                    logits[0][finishing.get(j)] = slice(out, j, vocab);
                }
            }
            // decode all sequences together
            for (int s = 0; s < steps; s++) {
                int[] tok = new int[n];
                int[] pos = new int[n];
                int[] rows = new int[n];
                for (int i = 0; i < n; i++) {
                    int next = forced != null ? forced[i][s] : argmax(logits[s][i]);
                    tokens[i][s] = next;
                    tok[i] = next;
                    pos[i] = prompts[i].length + s;
                    rows[i] = i;
                    reserve(r, tables[i], pos[i] + 1);
                }
                float[] out = r.forward(Steps.of(tok, pos, tables.clone(), rows)).logits();
                for (int i = 0; i < n; i++) {
                    logits[s + 1][i] = slice(out, i, vocab);
                }
            }
        } finally {
            for (BlockTable table : tables) {
                r.blocks().release(table);
            }
        }
        return new Trace(logits, tokens);
    }

    private static void reserve(ModelRunner r, BlockTable table, int positions) {
        if (!r.blocks().reserve(table, positions)) {
            throw new IllegalStateException("the scenario needs more KV blocks than the runner's "
                    + r.blocks().totalBlocks());
        }
    }

    static float[] slice(float[] a, int row, int width) {
        float[] out = new float[width];
        System.arraycopy(a, row * width, out, 0, width);
        return out;
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
}
