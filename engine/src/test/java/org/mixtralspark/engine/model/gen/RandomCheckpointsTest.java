package org.mixtralspark.engine.model.gen;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.tensor.Dequantize;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random checkpoints are lazy row sources: deterministic, order-free, distributed as documented, streamed to GGUF. */
class RandomCheckpointsTest {

    private static final MixtralConfig C = new MixtralConfig(400, 128, 256, 2, 4, 2, 32, 4, 2, 1e6, 1e-5f, 64);

    @Test
    void deterministicInTheSeedWhateverTheOrderRowsAreDrawnIn() {
        Checkpoint a = RandomCheckpoints.create("a", C, 7);
        Checkpoint b = RandomCheckpoints.create("b", C, 7);
        Checkpoint other = RandomCheckpoints.create("c", C, 8);
        for (String name : a.tensors().keySet()) {
            Checkpoint.Tensor ta = a.tensors().get(name);
            float[] forward = ta.data();
            Checkpoint.Tensor tb = b.tensors().get(name);
            int cols = tb.cols();
            float[] backward = new float[forward.length];
            float[] row = new float[cols];
            for (long r = tb.rowCount() - 1; r >= 0; r--) {
                tb.rows().row(r, row);
                System.arraycopy(row, 0, backward, (int) r * cols, cols);
            }
            assertArrayEquals(forward, backward, name);
            assertFalse(Arrays.equals(forward, other.tensors().get(name).data()), name + " seed 8");
        }
        // two rows, and two tensors of one shape, differ
        float[] w1 = a.tensors().get("model.layers.0.block_sparse_moe.experts.0.w1.weight").data();
        float[] w3 = a.tensors().get("model.layers.0.block_sparse_moe.experts.0.w3.weight").data();
        assertFalse(Arrays.equals(w1, w3));
        assertFalse(Arrays.equals(Arrays.copyOfRange(w1, 0, 128),
                Arrays.copyOfRange(w1, 128, 256)));
    }

    @Test
    void distributionsAreTheOraclesOnes() {
        Checkpoint ckpt = RandomCheckpoints.create("t", C, 1);
        assertMoments(ckpt, "model.embed_tokens.weight", 0, 1);
        assertMoments(ckpt, "model.layers.1.self_attn.q_proj.weight", 0, 1 / Math.sqrt(128));
        assertMoments(ckpt, "model.layers.1.self_attn.o_proj.weight", 0, 1 / Math.sqrt(C.qDim()));
        assertMoments(ckpt, "model.layers.0.block_sparse_moe.gate.weight", 0, 4 / Math.sqrt(128));
        assertMoments(ckpt, "model.layers.0.block_sparse_moe.experts.3.w1.weight", 0, 1 / Math.sqrt(128));
        assertMoments(ckpt, "model.layers.0.block_sparse_moe.experts.3.w2.weight", 0, 1 / Math.sqrt(256));
        assertMoments(ckpt, "model.layers.0.input_layernorm.weight", 1, 0.1);
        assertArrayEquals(new long[] {128}, ckpt.tensors().get("model.norm.weight").shape());
        assertArrayEquals(new long[] {4, 128}, ckpt.tensors().get("model.layers.0.block_sparse_moe.gate.weight").shape());
        // LM head: row r is 4/sqrt(dim) exp(0.75 N) N(0,1): rows of very different scales
        Checkpoint.Tensor head = ckpt.tensors().get("lm_head.weight");
        double min = Double.MAX_VALUE;
        double max = 0;
        float[] row = new float[128];
        for (int r = 0; r < head.rowCount(); r++) {
            head.rows().row(r, row);
            double ss = 0;
            for (float v : row) {
                ss += v * v;
            }
            double rms = Math.sqrt(ss / row.length) / (4 / Math.sqrt(128));
            min = Math.min(min, rms);
            max = Math.max(max, rms);
        }
        assertTrue(max / min > 5, "row scales from " + min + " to " + max);
    }

    private static void assertMoments(Checkpoint ckpt, String name, double mean, double std) {
        float[] x = ckpt.tensors().get(name).data();
        double s = 0;
        double ss = 0;
        for (float v : x) {
            s += v;
            ss += (double) v * v;
        }
        double m = s / x.length;
        double sd = Math.sqrt(ss / x.length - m * m);
        assertEquals(mean, m, 5 * std / Math.sqrt(x.length) + 1e-12, name + " mean");
        assertEquals(std, sd, std * 6 / Math.sqrt(x.length) + std * 0.01, name + " std");
    }

    /** A streamed GGUF reads back with the checkpoint's shapes and values (q/k permuted, experts merged) and runs. */
    @Test
    void aStreamedGgufHoldsTheCheckpointAndTheEngineRunsIt(@TempDir Path tmp) {
        Checkpoint ckpt = RandomCheckpoints.create("t", C, 3);
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(ckpt, file, GgmlType.F32, false);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(3 + 2 * 10, g.tensors().size()); // embeddings, output norm and head; 10 per layer
            assertValues(g, "token_embd.weight", new long[] {400, 128}, ckpt, "model.embed_tokens.weight");
            assertValues(g, "output.weight", new long[] {400, 128}, ckpt, "lm_head.weight");
            assertValues(g, "blk.1.attn_v.weight", new long[] {64, 128}, ckpt, "model.layers.1.self_attn.v_proj.weight");
            assertValues(g, "blk.1.ffn_norm.weight", new long[] {128}, ckpt,
                    "model.layers.1.post_attention_layernorm.weight");
            assertValues(g, "blk.0.ffn_gate_inp.weight", new long[] {4, 128}, ckpt,
                    "model.layers.0.block_sparse_moe.gate.weight");
            // merged experts: (experts, rows, cols), expert e's rows in block e
            float[] merged = decode(g, "blk.1.ffn_down_exps.weight");
            assertArrayEquals(new long[] {4, 128, 256}, g.tensor("blk.1.ffn_down_exps.weight").shape());
            for (int e = 0; e < 4; e++) {
                float[] one = ckpt.tensors().get("model.layers.1.block_sparse_moe.experts." + e + ".w2.weight").data();
                assertArrayEquals(one, Arrays.copyOfRange(merged, e * one.length, (e + 1) * one.length));
            }
            // q rows permuted to the interleaved RoPE layout: row (h, 2j + s) is HF row (h, s * hd/2 + j)
            float[] q = decode(g, "blk.0.attn_q.weight");
            float[] hf = ckpt.tensors().get("model.layers.0.self_attn.q_proj.weight").data();
            for (int h = 0; h < 4; h++) {
                for (int j = 0; j < 16; j++) {
                    for (int s = 0; s < 2; s++) {
                        int dst = h * 32 + 2 * j + s;
                        int src = h * 32 + s * 16 + j;
                        assertArrayEquals(Arrays.copyOfRange(hf, src * 128, src * 128 + 128),
                                Arrays.copyOfRange(q, dst * 128, dst * 128 + 128), "q row " + dst);
                    }
                }
            }
        }
        try (Engine engine = Engines.open(file, EngineOptions.defaults().withDevice("cpu").withThreads(1))) {
            GenerationResult r = engine.submit(new GenerationRequest("r", new int[] {1, 300, 301},
                    SamplingParams.builder().greedy().maxNewTokens(5).ignoreEos(true).build())).join();
            assertTrue(r.ok(), r.error());
            assertEquals(5, r.tokenIds().length);
        }
    }

    private static void assertValues(GgufFile g, String name, long[] shape, Checkpoint ckpt, String hfName) {
        assertArrayEquals(shape, g.tensor(name).shape(), name);
        assertArrayEquals(ckpt.tensors().get(hfName).data(), decode(g, name), name);
    }

    private static float[] decode(GgufFile g, String name) {
        TensorInfo t = g.tensor(name);
        float[] out = new float[(int) t.elementCount()];
        Dequantize.row(t.type(), g.bytes(t), 0, out, 0, out.length);
        return out;
    }
}
