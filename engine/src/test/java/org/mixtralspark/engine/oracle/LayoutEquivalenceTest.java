package org.mixtralspark.engine.oracle;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.Checkpoint;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.HfCheckpoints;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same weights in different files give the same logits: HF folder vs GGUF (q/k permuted, RoPE layouts
 * normalised at load), merged vs the old per-expert GGUF layout (written from kquant-hf by our converter, which
 * the oracle README §1.2 says llama.cpp no longer loads; it must reproduce the kquant-f32 references). The BF16 folder
 * (bundled) goes the same way: its bf16 weights written as F32 GGUFs must meet its own references.
 */
class LayoutEquivalenceTest {

    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "layout");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    @Test
    void hfFolderAndGgufFileOfTheSameWeightsGiveTheSameLogits() {
        Oracle.Reference ref = Oracle.reference("hf", "mini-mistral-hf");
        try (LoadedModel hf = ModelLoader.load(Oracle.model("mini-mistral-hf"));
             LoadedModel gguf = ModelLoader.load(Oracle.model("mini-mistral-f32.gguf"))) {
            for (Oracle.Prompt p : ref.prompts()) {
                float[] a = lastLogits(hf, p.promptIds());
                float[] b = lastLogits(gguf, p.promptIds());
                double d = OracleAgreementTest.maxAbsDiff(a, b);
                assertTrue(d < 1e-4, p.name() + ": HF vs GGUF max |diff| " + d);
            }
        }
    }

    @ParameterizedTest(name = "{0}: merged vs {1}/{2}, split vs {3}/{2}")
    @CsvSource({
            "kquant-hf, llamacpp, kquant-f32, exact-f64, kquant-q8_0.gguf",
            "kquant-hf-bf16, hf, kquant-hf-bf16, exact-f64, kquant-q4_k_m.gguf",
    })
    void splitAndMergedExpertLayoutsWrittenFromAnHfFolderMeetItsReferences(String folder, String mergedKind,
            String stem, String splitKind, String tokenizerGguf, @TempDir Path tmp) {
        Checkpoint ckpt = HfCheckpoints.read(Oracle.model(folder), Oracle.model(tokenizerGguf));
        Oracle.Reference mergedRef = Oracle.reference(mergedKind, stem);
        Oracle.Reference splitRef = Oracle.reference(splitKind, stem);
        Path merged = tmp.resolve(stem + ".gguf");
        Path split = tmp.resolve(stem + "-split-experts.gguf");
        CheckpointWriter.writeGguf(ckpt, merged, GgmlType.F32, false);
        CheckpointWriter.writeGguf(ckpt, split, GgmlType.F32, true);
        try (LoadedModel m = ModelLoader.load(merged); LoadedModel s = ModelLoader.load(split)) {
            assertTrue(s.source().tensors().containsKey("blk.0.ffn_gate.7.weight"), "split layout written");
            assertTrue(!s.source().tensors().containsKey("blk.0.ffn_gate_exps.weight"), "no merged tensors");
            OracleAgreementTest.assertAgrees(m, mergedRef, "merged " + folder + " vs " + mergedKind + "/" + stem, team);
            OracleAgreementTest.assertAgrees(s, splitRef, "split " + folder + " vs " + splitKind + "/" + stem, team);
            for (Oracle.Prompt p : splitRef.prompts()) {
                assertArrayEquals(lastLogits(m, p.promptIds()), lastLogits(s, p.promptIds()),
                        p.name() + ": merged and split layouts must give bit-identical logits");
            }
        }
    }

    private static float[] lastLogits(LoadedModel m, int[] prompt) {
        return new GreedyRun(m.weights(), CpuMath.exact(), team, prompt, 1).stepLogits.get(0);
    }
}
