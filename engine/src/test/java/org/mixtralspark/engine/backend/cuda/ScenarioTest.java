package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.CpuModelRunner;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The equivalence harness itself, on the CPU alone (where it runs everywhere). The CPU backend's trace of a batched,
 * chunked scenario is measured against an independent one: {@link ReferenceForward} (one token of one sequence at a
 * time, sums in double) fed each sequence's prompt and then the CPU's tokens. It must pass the F32 bounds the GPU is
 * held to (greedy identical, max |diff| and relative L2), and a trace that is off by more than those bounds must
 * measure as a fail. Besides: a scenario is deterministic, teacher forcing along a path gives that path's logits,
 * and a sequence's logits do not depend on batching or chunking.
 */
class ScenarioTest {

    @TempDir
    static Path tmp;

    @Test
    void theCpuTraceOfABatchedChunkedScenarioMeetsTheReferenceForwardPass() {
        Path model = tmp.resolve("tiny.gguf");
        MixtralConfig c = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 2048);
        CheckpointWriter.writeGguf(RandomCheckpoints.create("tiny", c, 5), model, GgmlType.BF16, false);
        try (LoadedModel m = ModelLoader.load(model);
             CpuModelRunner cpu = new CpuModelRunner(m.weights(), 2, 16L << 20, CpuMath.exact(), KvType.F32)) {
            assertEquals(c, m.weights().config());
            List<Equivalence.Case> cases = Equivalence.cases(c.vocabSize(), c.contextLength(), 42);
            Equivalence.Case batch = cases.get(1);
            Scenario.Trace a = Scenario.run(cpu, batch.prompts(), batch.chunk(), batch.steps(), null);
            assertEquals(cpu.blocks().totalBlocks(), cpu.blocks().freeBlocks(), "the scenario releases its blocks");

            // against the reference forward pass along the CPU's path
            Scenario.Trace ref = reference(m, batch.prompts(), a.tokens(), batch.steps());
            boolean greedy = true;
            for (int s = 0; s < batch.steps(); s++) {
                for (int i = 0; i < batch.prompts().length; i++) {
                    greedy &= Scenario.argmax(ref.logits()[s][i]) == a.tokens()[i][s];
                }
            }
            Equivalence.Result r = Equivalence.measure("cpu", "tiny", Precision.F32, batch.name(), ref, a, greedy, "");
            assertTrue(r.pass(), r.toString());
            assertTrue(greedy, "the CPU's greedy tokens are the reference's argmax at every step");
            assertEquals(4 * (batch.steps() + 1), r.logitRows());

            // the measure fails a trace that is off: one logit moved by 1e-2, past the 1e-3 bound
            float[][][] off = copy(a.logits());
            off[batch.steps()][3][7] += 1e-2f;
            Equivalence.Result bad = Equivalence.measure("cpu", "tiny", Precision.F32, batch.name(), ref,
                    new Scenario.Trace(off, a.tokens()), greedy, "");
            assertFalse(bad.pass(), bad.toString());

            // deterministic, and teacher forcing along the path gives the path's logits
            Scenario.Trace b = Scenario.run(cpu, batch.prompts(), batch.chunk(), batch.steps(), a.tokens());
            assertEquals(0.0, Equivalence.measure("cpu", "tiny", Precision.F32, batch.name(), a, b, true, "").relL2());

            // the 300-token sequence alone, unchunked, has the same logits as inside the chunked batch
            int[][] alone = {batch.prompts()[3]};
            Scenario.Trace single = Scenario.run(cpu, alone, 512, batch.steps(), new int[][] {a.tokens()[3]});
            for (int s = 0; s <= batch.steps(); s++) {
                assertArrayEquals(a.logits()[s][3], single.logits()[s][0], 1e-4f, "step " + s);
            }
        }
    }

    /** ReferenceForward, one sequence at a time: each prompt, then the given tokens; logits as a Scenario trace. */
    private static Scenario.Trace reference(LoadedModel m, int[][] prompts, int[][] tokens, int steps) {
        ReferenceForward f = new ReferenceForward(m.weights());
        float[][][] logits = new float[steps + 1][prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), prompts[i].length + steps);
            float[] last = null;
            for (int t : prompts[i]) {
                last = f.forward(seq, t);
            }
            logits[0][i] = last;
            for (int s = 0; s < steps; s++) {
                logits[s + 1][i] = f.forward(seq, tokens[i][s]);
            }
        }
        return new Scenario.Trace(logits, tokens);
    }

    private static float[][][] copy(float[][][] a) {
        float[][][] out = new float[a.length][][];
        for (int s = 0; s < a.length; s++) {
            out[s] = new float[a[s].length][];
            for (int i = 0; i < a[s].length; i++) {
                out[s][i] = a[s][i].clone();
            }
        }
        return out;
    }
}
