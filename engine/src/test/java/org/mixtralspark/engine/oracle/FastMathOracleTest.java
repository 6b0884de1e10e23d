package org.mixtralspark.engine.oracle;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.backend.cpu.Matmul;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code fast} CPU math (int8 activations per 32 values on the native kernels) against llama.cpp's outputs for
 * every oracle GGUF file, with the loose check of the oracle README §4.4: llama.cpp quantises the activations before
 * its quantised (and rounds them before its F16/BF16) products, so neither it nor we match exact math tightly, and
 * routing flips move single positions by many logits. The check: the same last-position top-1 on at least 5 of the 6
 * prompts (observed for llama.cpp against exact math: 6/6), top-1 agreement at ≥ 95 % of the 868 prompt positions, no
 * greedy requirement. The greedy agreement (identical 24-token continuations, and the mean length of the common
 * prefix) is printed per file for the issue note.
 *
 * <p>With {@code -Dmixtral.native=false} fast mode runs the exact Java kernels, which meet the same check (README
 * §4.4 states it for an engine with fp32 activations).
 */
class FastMathOracleTest {

    /** README §4.4: top-1 agreement over prompt positions. */
    static final double MIN_POSITION_AGREEMENT = 0.95;
    /** README §4.4: "the same last_top5[0] on most prompts". */
    static final int MIN_LAST_TOP1 = 5;

    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "oracle-fast");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mini-mistral-f32", "mini-mistral-q8_0", "kquant-f16", "kquant-bf16", "kquant-q8_0",
            "kquant-q6_k", "kquant-q5_k_m", "kquant-q4_k_m", "kquant-q4_0"})
    void meetsTheLooseCheckAgainstLlamaCpp(String stem) {
        Oracle.Reference ref = Oracle.reference("llamacpp", stem);
        CpuMath.Selection math = CpuMath.select(CpuMath.Mode.FAST);
        Matmul matmul = math.matmul();
        int lastTop1 = 0;
        int positions = 0;
        int positionsAgree = 0;
        int greedySame = 0;
        int greedyPrefix = 0;
        int greedySteps = 0;
        double maxLastDiff = 0;
        try (LoadedModel m = ModelLoader.load(Oracle.model(stem + ".gguf"))) {
            assertEquals(ref.vocab(), m.config().vocabSize(), stem + ": vocab");
            for (Oracle.Prompt p : ref.prompts()) {
                int[] prompt = p.promptIds();
                GreedyRun run = new GreedyRun(m.weights(), matmul, team, prompt, p.greedyIds().length);
                float[] last = run.positionLogits(prompt.length - 1);
                maxLastDiff = Math.max(maxLastDiff, OracleAgreementTest.maxAbsDiff(p.lastLogits(), last));
                if (GreedyRun.argmax(last) == p.lastTop5Ids()[0]) {
                    lastTop1++;
                }
                List<Oracle.Top5> top = p.positionsTop5();
                assertEquals(prompt.length, top.size(), stem + " " + p.name() + ": positions");
                for (int i = 0; i < prompt.length; i++) {
                    positions++;
                    if (GreedyRun.argmax(run.positionLogits(i)) == top.get(i).ids()[0]) {
                        positionsAgree++;
                    }
                }
                int[] want = p.greedyIds();
                int common = 0;
                while (common < want.length && run.greedyIds[common] == want[common]) {
                    common++;
                }
                greedySame += common == want.length ? 1 : 0;
                greedyPrefix += common;
                greedySteps += want.length;
            }
        }
        int prompts = ref.prompts().size();
        double agreement = (double) positionsAgree / positions;
        System.out.printf(Locale.ROOT, "fast math vs llamacpp/%s (%s): last top-1 %d/%d, prompt positions top-1 "
                        + "%d/%d (%.1f %%), greedy identical %d/%d, greedy tokens before the first divergence "
                        + "%d/%d (%.1f %%), max |diff| last logits %.3g%n", stem, math.kernels(), lastTop1, prompts,
                positionsAgree, positions, 100 * agreement, greedySame, prompts, greedyPrefix, greedySteps,
                100.0 * greedyPrefix / greedySteps, maxLastDiff);
        assertTrue(lastTop1 >= Math.min(MIN_LAST_TOP1, prompts), stem + ": last top-1 the same on " + lastTop1
                + " of " + prompts + " prompts");
        assertTrue(agreement >= MIN_POSITION_AGREEMENT, stem + ": top-1 the same at " + positionsAgree + " of "
                + positions + " prompt positions, under " + MIN_POSITION_AGREEMENT);
    }
}
