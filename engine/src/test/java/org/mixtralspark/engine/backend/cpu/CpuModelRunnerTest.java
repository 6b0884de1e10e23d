package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.backend.StepOutput;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU backend at its step boundary: StepInput in, StepOutput out. */
class CpuModelRunnerTest {

    /** 2 layers, 4 experts, top-2. */
    private static final MixtralConfig MOE = new MixtralConfig(300, 64, 96, 2, 4, 2, 16, 4, 2, 1e6, 1e-5f, 256);

    @Test
    void aStepReportsEachLayersExpertTokenCountsAndTheLogitsOfTheSequencesThatWantThem(@TempDir Path tmp) {
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", MOE, 3), file, GgmlType.Q8_0, false);
        try (LoadedModel m = ModelLoader.load(file);
             CpuModelRunner r = new CpuModelRunner(m.weights(), 2, 1 << 20, CpuMath.exact(), KvType.F16)) {
            BlockTable a = new BlockTable();
            BlockTable b = new BlockTable();
            assertTrue(r.blocks().reserve(a, 5));
            assertTrue(r.blocks().reserve(b, 3));
            StepInput step = new StepInput(List.of(new StepInput.Sequence(new int[] {1, 2, 3, 4, 5}, 0, a, true),
                    new StepInput.Sequence(new int[] {7, 8, 9}, 0, b, false)));
            StepOutput out = r.forward(step);
            assertEquals(MOE.vocabSize(), out.logitsOf(0).length);
            assertEquals(-1, out.logitRow()[1]);
            assertEquals(MOE.layers(), out.expertTokens().length);
            for (int[] layer : out.expertTokens()) {
                assertEquals(MOE.experts(), layer.length);
                assertEquals(8 * MOE.expertsUsed(), Arrays.stream(layer).sum(), "8 tokens, 2 experts each");
            }
            // a decode step counts its one token
            assertTrue(r.blocks().reserve(a, 6));
            StepOutput next = r.forward(new StepInput(List.of(new StepInput.Sequence(new int[] {6}, 5, a, true))));
            for (int[] layer : next.expertTokens()) {
                assertEquals(MOE.expertsUsed(), Arrays.stream(layer).sum());
                assertTrue(Arrays.stream(layer).allMatch(c -> c == 0 || c == 1), "one token: each expert 0 or 1");
            }
        }
    }

    /**
     * Logits at every position of a chunk: each row is bit for bit what the prefix up to that position gives when it
     * is a sequence's last token, alone in its step, and does not depend on what else is in the step.
     */
    @Test
    void everyPositionsLogitsEqualThoseOfThePrefixAloneWhateverElseIsInTheStep(@TempDir Path tmp) {
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", MOE, 4), file, GgmlType.Q8_0, false);
        int[] prompt = {1, 17, 250, 3, 99, 42, 7, 7, 180, 64, 2, 33, 5};
        int keep = 9; // logits after the last 9 tokens
        for (CpuMath.Mode mode : CpuMath.Mode.values()) {
            try (LoadedModel m = ModelLoader.load(file);
                 CpuModelRunner r = new CpuModelRunner(m.weights(), 2, 1 << 21, CpuMath.matmul(mode), KvType.F32)) {
                BlockTable a = new BlockTable();
                BlockTable other = new BlockTable();
                assertTrue(r.blocks().reserve(a, prompt.length));
                assertTrue(r.blocks().reserve(other, 4));
                StepOutput out = r.forward(new StepInput(List.of(
                        new StepInput.Sequence(new int[] {300 - 1, 5, 6, 8}, 0, other, true),
                        new StepInput.Sequence(prompt, 0, a, keep))));
                for (int back = 0; back < keep; back++) {
                    int end = prompt.length - back; // the prefix [0, end)
                    BlockTable alone = new BlockTable();
                    assertTrue(r.blocks().reserve(alone, end));
                    StepOutput one = r.forward(new StepInput(List.of(
                            new StepInput.Sequence(Arrays.copyOf(prompt, end), 0, alone, true))));
                    assertArrayEquals(one.logitsOf(0), out.logitsBefore(1, back), mode + ": the prefix of " + end);
                    r.blocks().release(alone);
                }
            }
        }
    }
}
