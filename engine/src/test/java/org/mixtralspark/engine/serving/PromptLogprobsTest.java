package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.sampling.RawLogprobs;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prompt log-probabilities: every prompt token's log-probability given the tokens before it, from the logits of every
 * position of a (chunked) prefill, against the reference forward pass; and what they do to the rest of the request.
 */
class PromptLogprobsTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 1024);
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 13), model, GgmlType.F32, false);
    }

    private static EngineOptions exact() {
        return EngineOptions.defaults().withDevice("cpu").withThreads(2).withCpuMath("exact").withKvType("f32");
    }

    @Test
    void aChunkedPromptsLogprobsAreThoseOfTheReferencePass() {
        int[] prompt = LabelScoringTest.prompt(700, 2); // two chunks of the 512-token step budget
        GenerationRequest plain = new GenerationRequest("p", prompt, SamplingParams.builder().greedy()
                .maxNewTokens(5).ignoreEos(true).build());
        GenerationResult r;
        GenerationResult without;
        try (Engine e = Engines.open(model, exact())) {
            without = e.submit(plain).join();
            r = e.submit(plain.withPromptLogprobs(3)).join();
            assertEquals(0, r.cachedPromptTokens(), "the prompt is computed, not taken from the prefix cache");
            BlockAllocator blocks = ((LocalEngine) e).blocks();
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks());
        }
        assertTrue(r.ok(), r.error());
        assertTrue(without.promptLogprobs().isEmpty(), "none unless asked");
        assertTrue(without.cachedPromptTokens() == 0);
        assertArrayEquals(without.tokenIds(), r.tokenIds(), "asking for them changes nothing else");
        List<TokenLogprob> lp = r.promptLogprobs();
        assertEquals(prompt.length - 1, lp.size(), "every token after the first");
        try (LoadedModel m = ModelLoader.load(model)) {
            ReferenceForward ref = new ReferenceForward(m.weights());
            ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), prompt.length);
            double worst = 0;
            for (int i = 0; i < prompt.length - 1; i++) {
                float[] logits = ref.forward(seq, prompt[i]);
                TokenLogprob got = lp.get(i);
                assertEquals(prompt[i + 1], got.tokenId());
                double expected = RawLogprobs.of(logits, prompt[i + 1]);
                worst = Math.max(worst, Math.abs(expected - got.logprob()));
                assertEquals(expected, got.logprob(), TOLERANCE, "prompt token " + (i + 1));
                assertEquals(3, got.top().size());
                TokenLogprob refTop = RawLogprobs.withTop(logits, prompt[i + 1], 3);
                for (int j = 0; j < 3; j++) {
                    assertEquals(refTop.top().get(j).tokenId(), got.top().get(j).tokenId(), "top " + j + " at " + i);
                    assertEquals(refTop.top().get(j).logprob(), got.top().get(j).logprob(), TOLERANCE);
                }
            }
            System.out.printf("prompt log-probabilities vs reference: max |diff| %.3g%n", worst);
        }
    }

    @Test
    void theyAreTheSameWhenTheCacheHoldsThePromptAndWithGenerationsInTheBatch() {
        int[] prompt = LabelScoringTest.prompt(90, 4);
        GenerationRequest asked = new GenerationRequest("p", prompt, SamplingParams.builder().greedy()
                .maxNewTokens(4).build()).withPromptLogprobs(0);
        GenerationResult first;
        try (Engine e = Engines.open(model, exact())) {
            first = e.submit(asked).join();
            GenerationResult cached = e.submit(new GenerationRequest("c", prompt, asked.params())).join();
            assertTrue(cached.cachedPromptTokens() > 0, "the first request left its prompt in the cache");
            GenerationResult again = e.submit(asked).join();
            assertEquals(first.promptLogprobs(), again.promptLogprobs());
            assertEquals(0, again.cachedPromptTokens());
        }
        assertTrue(first.promptLogprobs().stream().allMatch(t -> t.top().isEmpty()), "0: no alternatives");
        assertTrue(first.promptLogprobs().stream().allMatch(t -> t.logprob() <= 0));
    }

    @Test
    void aOneTokenPromptHasNoneAndABadCountIsRefused() {
        try (Engine e = Engines.open(model, exact())) {
            GenerationResult r = e.submit(new GenerationRequest("one", new int[] {1},
                    SamplingParams.builder().maxNewTokens(2).build()).withPromptLogprobs(2)).join();
            assertTrue(r.ok(), r.error());
            assertTrue(r.promptLogprobs().isEmpty());
        }
        GenerationRequest base = new GenerationRequest("x", new int[] {1, 2}, SamplingParams.defaults());
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> base.withPromptLogprobs(SamplingParams.MAX_LOGPROBS + 1));
        assertTrue(tooMany.getMessage().contains("prompt_logprobs"), tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> base.withPromptLogprobs(-2));
    }
}
