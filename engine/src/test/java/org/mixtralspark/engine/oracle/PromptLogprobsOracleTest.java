package org.mixtralspark.engine.oracle;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.sampling.RawLogprobs;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prompt log-probabilities through the engine on the oracle models against the references' per-position outputs:
 * the top-1 at every prompt position equals the reference's per-position top-5 head, and on the 40-token prompts,
 * whose every logit the reference holds, each prompt token's log-probability and the top-5 alternatives' equal
 * {@code log_softmax} of the reference's logits within twice the oracle's logit tolerance (README §4: |Δ| ≤ 1e-3 on
 * every logit; a log-probability is a logit minus the log-normaliser, each off by at most that).
 */
class PromptLogprobsOracleTest {

    private static final double TOLERANCE = 2 * OracleAgreementTest.TOLERANCE;

    @ParameterizedTest(name = "{0} vs {1}/{2}")
    @CsvSource({
            "mini-mistral-f32.gguf, hf, mini-mistral-hf, 1",
            "mini-mistral-f32.gguf, llamacpp, mini-mistral-f32, 0",
            "kquant-hf, exact-f64, kquant-f32, 1",
            "kquant-hf, llamacpp, kquant-f32, 1",
            "kquant-q8_0.gguf, exact-f64, kquant-q8_0, 1",
    })
    void promptLogprobsMatchTheReference(String model, String kind, String stem, int withAllLogits) {
        Oracle.Reference ref = Oracle.reference(kind, stem);
        EngineOptions exact = EngineOptions.defaults().withDevice("cpu").withThreads(2).withCpuMath("exact")
                .withKvType("f32");
        int checkedAll = 0;
        try (Engine e = Engines.open(Oracle.model(model), exact)) {
            for (Oracle.Prompt p : ref.prompts()) {
                String where = model + " vs " + kind + "/" + stem + " " + p.name();
                int[] prompt = p.promptIds();
                GenerationResult r = e.submit(new GenerationRequest(p.name(), prompt, SamplingParams.builder()
                        .greedy().maxNewTokens(1).build()).withPromptLogprobs(5)).join();
                assertTrue(r.ok(), r.error());
                List<TokenLogprob> lp = r.promptLogprobs();
                assertEquals(prompt.length - 1, lp.size(), where);
                List<Oracle.Top5> positions = p.positionsTop5();
                for (int i = 0; i + 1 < prompt.length; i++) {
                    assertEquals(positions.get(i).ids()[0], lp.get(i).top().get(0).tokenId(),
                            where + " top-1 after prompt position " + i);
                }
                float[] all = p.allLogits();
                if (all == null) {
                    continue;
                }
                int vocab = ref.vocab();
                double worst = 0;
                for (int i = 0; i + 1 < prompt.length; i++) {
                    float[] row = Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab);
                    double expected = RawLogprobs.of(row, prompt[i + 1]);
                    worst = Math.max(worst, Math.abs(expected - lp.get(i).logprob()));
                    assertEquals(expected, lp.get(i).logprob(), TOLERANCE, where + " prompt token " + (i + 1));
                    for (TokenLogprob.Alternative a : lp.get(i).top()) {
                        assertEquals(RawLogprobs.of(row, a.tokenId()), a.logprob(), TOLERANCE,
                                where + " alternative " + a.tokenId() + " after position " + i);
                    }
                }
                checkedAll++;
                System.out.printf("%s: prompt log-probabilities max |diff| %.3g%n", where, worst);
            }
        }
        assertEquals(withAllLogits, checkedAll, "40-token prompts with every position's logits (README §3)");
    }
}
