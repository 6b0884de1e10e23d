package org.mixtralspark.engine.oracle;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every oracle model file, through the production forward pass (Vector API, threads, fp32 activations on dequantised
 * weights), against the reference that the oracle README §4 says it must meet tightly: |Δ| ≤ 1e-3 on every
 * last-position logit, identical last top-5 ids, identical top-1 at every prompt position, every logit of the
 * 40-token prompts at every position, identical 24-token greedy continuations, and the logits of each greedy step
 * at the reference's top-5 ids.
 */
class OracleAgreementTest {

    static final double TOLERANCE = 1e-3;
    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "oracle");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    @ParameterizedTest(name = "{0} vs {1}/{2}")
    @CsvSource({
            "mini-mistral-f32.gguf, llamacpp, mini-mistral-f32",
            "mini-mistral-f32.gguf, exact-f64, mini-mistral-f32",
            "mini-mistral-q8_0.gguf, exact-f64, mini-mistral-q8_0",
            "mini-mistral-hf, hf, mini-mistral-hf",
            "kquant-hf, hf, kquant-hf",
            "kquant-hf, llamacpp, kquant-f32",
            "kquant-hf, exact-f64, kquant-f32",
            "kquant-hf-bf16, hf, kquant-hf-bf16",
            "kquant-hf-bf16, exact-f64, kquant-hf-bf16",
            "kquant-f16.gguf, exact-f64, kquant-f16",
            "kquant-bf16.gguf, exact-f64, kquant-bf16",
            "kquant-q8_0.gguf, exact-f64, kquant-q8_0",
            "kquant-q6_k.gguf, exact-f64, kquant-q6_k",
            "kquant-q5_k_m.gguf, exact-f64, kquant-q5_k_m",
            "kquant-q4_k_m.gguf, exact-f64, kquant-q4_k_m",
            "kquant-q4_0.gguf, exact-f64, kquant-q4_0",
    })
    void matchesTheReference(String model, String kind, String stem) {
        Path path = Oracle.model(model);
        Oracle.Reference ref = Oracle.reference(kind, stem);
        try (LoadedModel m = ModelLoader.load(path)) {
            assertAgrees(m, ref, model + " vs " + kind + "/" + stem, team);
        }
    }

    /** The checks of the class comment; also used for models the tests write themselves. */
    static void assertAgrees(LoadedModel m, Oracle.Reference ref, String label, ThreadTeam team) {
        assertEquals(ref.vocab(), m.config().vocabSize(), label + ": vocab");
        for (Oracle.Prompt p : ref.prompts()) {
            String where = label + " prompt " + p.name();
            int[] prompt = p.promptIds();
            GreedyRun run = new GreedyRun(m.weights(), CpuMath.exact(), team, prompt, p.greedyIds().length);

            float[] last = run.positionLogits(prompt.length - 1);
            assertAllClose(p.lastLogits(), last, where + " last logits");
            assertArrayEquals(p.lastTop5Ids(), GreedyRun.topK(last, 5), where + " last top-5 ids");

            List<Oracle.Top5> positions = p.positionsTop5();
            assertEquals(prompt.length, positions.size());
            for (int i = 0; i < prompt.length; i++) {
                assertEquals(positions.get(i).ids()[0], GreedyRun.argmax(run.positionLogits(i)),
                        where + " top-1 at prompt position " + i);
            }
            float[] all = p.allLogits();
            if (all != null) {
                assertAllClose(all, run.promptLogits, where + " logits at every position");
            }

            assertArrayEquals(p.greedyIds(), run.greedyIds, where + " greedy continuation");
            List<Oracle.Top5> steps = p.greedyStepsTop5();
            for (int s = 0; s < steps.size(); s++) {
                Oracle.Top5 t = steps.get(s);
                float[] ours = run.stepLogits.get(s);
                for (int j = 0; j < t.ids().length; j++) {
                    assertEquals(t.logits()[j], ours[t.ids()[j]], TOLERANCE,
                            where + " greedy step " + s + " logit of top-" + (j + 1) + " id " + t.ids()[j]);
                }
            }
        }
    }

    static double maxAbsDiff(float[] expected, float[] actual) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        return max;
    }

    static void assertAllClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = maxAbsDiff(expected, actual);
        if (max > TOLERANCE) {
            int worst = 0;
            for (int i = 0; i < expected.length; i++) {
                if (Math.abs(expected[i] - actual[i]) > Math.abs(expected[worst] - actual[worst])) {
                    worst = i;
                }
            }
            throw new AssertionError(what + ": max |diff| " + max + " > " + TOLERANCE + " at index " + worst
                    + " (expected " + expected[worst] + ", got " + actual[worst] + ")");
        }
        System.out.printf("%s: max |diff| %.3g%n", what, max);
    }
}
