package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.backend.StepOutput;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockCopy;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Forks on the CPU backend: a parent's prompt is computed once, forked into children that share its blocks, and then
 * parent and children diverge (copy-on-write of the shared partial block). Every one of them must give, at every
 * step, the logits of the same tokens run alone in a table of its own: bit for bit, with every KV storage type
 * (a copied 16-bit block holds the same bits).
 */
class ForkCopyOnWriteTest {

    private static final MixtralConfig C = new MixtralConfig(300, 64, 96, 2, 4, 2, 16, 4, 2, 1e6, 1e-5f, 256);

    @ParameterizedTest
    @EnumSource(KvType.class)
    void parentAndChildrenDivergeAfterAForkWithTheLogitsOfSequencesRunAlone(KvType type, @TempDir Path tmp) {
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 7), file, GgmlType.Q8_0, false);
        int[] prompt = new int[21]; // one whole block and 5 positions of the next
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 1 + (i * 37) % 299;
        }
        int[][] continuations = {{11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, {40, 41, 42}, {50}, {60, 61}};
        try (LoadedModel m = ModelLoader.load(file);
             CpuModelRunner shared = new CpuModelRunner(m.weights(), 2, 1 << 20, CpuMath.exact(), type);
             CpuModelRunner alone = new CpuModelRunner(m.weights(), 2, 1 << 20, CpuMath.exact(), type)) {
            BlockAllocator a = shared.blocks();
            BlockTable parent = new BlockTable();
            a.reserve(parent, prompt.length);
            shared.forward(new StepInput(List.of(new StepInput.Sequence(prompt, 0, parent, true))));
            List<BlockTable> tables = new ArrayList<>(List.of(parent));
            for (int k = 1; k < continuations.length; k++) {
                BlockTable child = new BlockTable();
                a.fork(parent, child);
                tables.add(child);
            }
            assertEquals(continuations.length, a.references(parent.block(1)));

            // every sequence decodes its own continuation, all in the same steps, copying the shared block first
            int[] lengths = new int[continuations.length];
            java.util.Arrays.fill(lengths, prompt.length);
            List<float[]>[] logits = new List[continuations.length];
            for (int k = 0; k < logits.length; k++) {
                logits[k] = new ArrayList<>();
            }
            int copies = 0;
            for (int step = 0; step < continuations[0].length; step++) {
                List<StepInput.Sequence> seqs = new ArrayList<>();
                List<BlockCopy> copy = new ArrayList<>();
                List<Integer> who = new ArrayList<>();
                for (int k = 0; k < continuations.length; k++) {
                    if (step >= continuations[k].length) {
                        continue;
                    }
                    int pos = lengths[k];
                    a.reserve(tables.get(k), pos + 1);
                    BlockCopy c = a.makeWritable(tables.get(k), pos);
                    if (c != null) {
                        copy.add(c);
                    }
                    seqs.add(new StepInput.Sequence(new int[] {continuations[k][step]}, pos, tables.get(k), true));
                    who.add(k);
                }
                copies += copy.size();
                StepOutput out = shared.forward(new StepInput(seqs, copy));
                for (int i = 0; i < who.size(); i++) {
                    logits[who.get(i)].add(out.logitsOf(i));
                    lengths[who.get(i)]++;
                }
            }
            assertEquals(continuations.length - 1, copies, "all but the last writer of the shared block copy it");

            for (int k = 0; k < continuations.length; k++) {
                BlockTable own = new BlockTable();
                int[] all = new int[prompt.length + continuations[k].length];
                System.arraycopy(prompt, 0, all, 0, prompt.length);
                System.arraycopy(continuations[k], 0, all, prompt.length, continuations[k].length);
                alone.blocks().reserve(own, all.length);
                alone.forward(new StepInput(List.of(new StepInput.Sequence(prompt, 0, own, false))));
                for (int j = 0; j < continuations[k].length; j++) {
                    StepOutput out = alone.forward(new StepInput(List.of(new StepInput.Sequence(
                            new int[] {continuations[k][j]}, prompt.length + j, own, true))));
                    assertNotNull(logits[k].get(j));
                    assertArrayEquals(out.logitsOf(0), logits[k].get(j), "sequence " + k + ", step " + j);
                }
                alone.blocks().release(own);
            }
            for (BlockTable t : tables) {
                a.release(t);
            }
            assertEquals(a.totalBlocks(), a.freeBlocks(), "every block is free once all four let go");
        }
    }
}
