package org.mixtralspark.engine.backend.cuda;


import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cpu.CpuModelRunner;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The equivalence harness itself, on the CPU alone (where it runs everywhere): a scenario is deterministic,
 * batching and chunking do not change a sequence's logits (batch invariance), teacher forcing along a path gives
 * that path's logits, and identical traces measure as a pass.
 */
class ScenarioTest {

    @TempDir
    static Path tmp;

    @Test
    void scenariosAreDeterministicBatchInvariantAndMeasurable() {
        Path model = tmp.resolve("tiny.gguf");
        MixtralConfig c = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 2048);
        CheckpointWriter.writeGguf(RandomCheckpoints.create("tiny", c, 5), model, GgmlType.BF16, false);
        try (LoadedModel m = ModelLoader.load(model);
             CpuModelRunner cpu = new CpuModelRunner(m.weights(), 2, 16L << 20)) {
            List<Equivalence.Case> cases = Equivalence.cases(c.vocabSize(), c.contextLength(), 42);
            Equivalence.Case batch = cases.get(1);
            Scenario.Trace a = Scenario.run(cpu, batch.prompts(), batch.chunk(), batch.steps(), null);
            Scenario.Trace b = Scenario.run(cpu, batch.prompts(), batch.chunk(), batch.steps(), a.tokens());
            Equivalence.Result r = Equivalence.measure("cpu", "tiny", Precision.F32, batch.name(), a, b, true, "");
            assertEquals(0.0, r.relL2());
            assertTrue(r.pass());
            assertEquals(4 * (batch.steps() + 1), r.logitRows());
            assertEquals(cpu.blocks().totalBlocks(), cpu.blocks().freeBlocks(), "the scenario releases its blocks");

            // the 300-token sequence alone, unchunked, has the same logits as inside the chunked batch
            int[][] alone = {batch.prompts()[3]};
            Scenario.Trace single = Scenario.run(cpu, alone, 512, batch.steps(), new int[][] {a.tokens()[3]});
            for (int s = 0; s <= batch.steps(); s++) {
                assertArrayEquals(a.logits()[s][3], single.logits()[s][0], 1e-4f, "step " + s);
            }
            MixtralWeights w = m.weights();
            assertEquals(c, w.config());
        }
    }
}
