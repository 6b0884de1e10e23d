package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.TokenLogprob;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine end to end: scheduler, batching, sampling, stopping, errors, on a generated model and the oracle. */
class EngineTest {

    @TempDir
    static Path tmp;
    private static Engine engine;

    @BeforeAll
    static void open() {
        Path model = tmp.resolve("tiny.gguf");
        MixtralConfig c = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 128);
        CheckpointWriter.writeGguf(RandomCheckpoints.create("tiny", c, 3), model, GgmlType.Q8_0, false);
        engine = Engines.open(model, EngineOptions.defaults().withDevice("cpu").withThreads(2).withMaxBatchSize(4));
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static GenerationResult run(int[] prompt, SamplingParams p) {
        return engine.submit(new GenerationRequest("r", prompt, p)).join();
    }

    private static SamplingParams.Builder greedy(int n) {
        return SamplingParams.builder().greedy().maxNewTokens(n).ignoreEos(true);
    }

    @Test
    void greedyAloneEqualsGreedyInAFullBatchWithOtherRequests() {
        int[] prompt = engine.tokenizer().encode("the quick brown fox");
        GenerationResult alone = run(prompt, greedy(12).build());
        List<GenerationRequest> many = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            int[] other = engine.tokenizer().encode("request number " + i + " says something else");
            many.add(new GenerationRequest("o" + i, other, SamplingParams.builder().temperature(0.9f).seed((long) i)
                    .maxNewTokens(5 + i).ignoreEos(true).build()));
        }
        many.add(4, new GenerationRequest("mine", prompt, greedy(12).build()));
        List<GenerationResult> results = engine.generate(many);
        assertEquals("mine", results.get(4).id());
        assertArrayEquals(alone.tokenIds(), results.get(4).tokenIds());
        assertEquals(alone.text(), results.get(4).text());
        for (GenerationResult r : results) {
            assertTrue(r.ok(), r.error());
        }
    }

    @Test
    void maxNewTokensEndsWithLength() {
        GenerationResult r = run(new int[] {1, 300, 301}, greedy(7).build());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(7, r.tokenIds().length);
        String decoded = engine.tokenizer().decode(r.tokenIds());
        int bad = decoded.indexOf('\uFFFD');
        if (bad < 0) {
            assertEquals(decoded, r.text());
        } else {
            // random weights can emit invalid UTF-8 byte runs; the streaming decoder then differs from a one-shot
            // decode in how many U+FFFD it shows (IncrementalDecoder's class comment), but not before them
            assertTrue(r.text().startsWith(decoded.substring(0, bad)), r.text() + " vs " + decoded);
            assertTrue(r.text().endsWith("\uFFFD"), "the unfinished bytes are flushed at the end: " + r.text());
        }
    }

    @Test
    void sameSeedSameTokensDifferentSeedsDiffer() {
        int[] prompt = {1, 290, 291, 292};
        SamplingParams.Builder b = SamplingParams.builder().temperature(1.5f).maxNewTokens(20).ignoreEos(true);
        GenerationResult a1 = run(prompt, b.seed(11L).build());
        GenerationResult a2 = run(prompt, b.seed(11L).build());
        GenerationResult c = run(prompt, b.seed(12L).build());
        assertArrayEquals(a1.tokenIds(), a2.tokenIds());
        assertFalse(java.util.Arrays.equals(a1.tokenIds(), c.tokenIds()), "different seeds should differ");
    }

    @Test
    void aStopStringEndsTheTextBeforeIt() {
        GenerationResult full = run(new int[] {1, 400}, greedy(20).build());
        String text = full.text();
        assertTrue(text.length() > 6, "need some text: " + text);
        // a stop string that spans the boundary of two tokens' texts
        String piece0 = engine.tokenizer().decode(new int[] {full.tokenIds()[0]});
        String stop = text.substring(Math.max(0, piece0.length() - 1), piece0.length() + 2);
        GenerationResult stopped = run(new int[] {1, 400}, greedy(20).stopStrings(List.of(stop)).build());
        assertEquals(FinishReason.STOP, stopped.finishReason());
        assertEquals(text.substring(0, text.indexOf(stop)), stopped.text());
        assertFalse(stopped.text().contains(stop));
    }

    @Test
    void aStopTokenIdEndsGenerationAndIsNotReturned() {
        GenerationResult full = run(new int[] {1, 410, 420}, greedy(10).build());
        int stopId = full.tokenIds()[3];
        GenerationResult r = run(new int[] {1, 410, 420}, greedy(10).stopTokenIds(stopId).build());
        assertEquals(FinishReason.STOP, r.finishReason());
        int first = -1;
        for (int i = 0; i < full.tokenIds().length; i++) {
            if (full.tokenIds()[i] == stopId) {
                first = i;
                break;
            }
        }
        assertArrayEquals(java.util.Arrays.copyOf(full.tokenIds(), first), r.tokenIds());
    }

    @Test
    void logprobsAreReportedPerToken() {
        GenerationResult r = run(new int[] {1, 300}, greedy(4).logprobs(3).build());
        assertEquals(4, r.logprobs().size());
        for (int i = 0; i < 4; i++) {
            TokenLogprob lp = r.logprobs().get(i);
            assertEquals(r.tokenIds()[i], lp.tokenId());
            assertEquals(3, lp.top().size());
            assertEquals(lp.tokenId(), lp.top().get(0).tokenId(), "greedy picks the most likely token");
            assertTrue(lp.logprob() <= 0);
        }
    }

    @Test
    void badRequestsCompleteWithErrorsAndTheEngineGoesOn() {
        int[] tooLong = new int[200];
        java.util.Arrays.fill(tooLong, 5);
        GenerationResult r = run(tooLong, greedy(3).build());
        assertEquals(FinishReason.ERROR, r.finishReason());
        assertTrue(r.error().contains("200 tokens"), r.error());
        GenerationResult bad = run(new int[] {1, 99999}, greedy(3).build());
        assertEquals(FinishReason.ERROR, bad.finishReason());
        assertTrue(bad.error().contains("99999"), bad.error());
        assertTrue(run(new int[] {1, 2, 3}, greedy(2).build()).ok());
    }

    @Test
    void generationStopsAtTheContextLength() {
        // prompt + max_new_tokens > context: runs, and is cut where the context is full (ContextLimit, as vLLM)
        int[] prompt = new int[120];
        java.util.Arrays.fill(prompt, 300);
        GenerationResult r = run(prompt, greedy(50).build());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(128 - 120, r.tokenIds().length);
    }

    @Test
    void aPromptOfContextMinusOneTokensGetsOneToken() {
        int[] prompt = new int[127];
        java.util.Arrays.fill(prompt, 300);
        GenerationResult r = run(prompt, greedy(50).build());
        assertTrue(r.ok(), r.error());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(1, r.tokenIds().length);
    }

    @Test
    void aPromptThatFillsTheContextIsAnErrorWithBothCounts() {
        int[] prompt = new int[128];
        java.util.Arrays.fill(prompt, 300);
        GenerationResult r = run(prompt, greedy(1).build());
        assertEquals(FinishReason.ERROR, r.finishReason());
        assertEquals(0, r.tokenIds().length);
        assertTrue(r.error().contains("the prompt has 128 tokens, but the context length is 128"), r.error());
        assertTrue(r.error().contains("at most 127 tokens"), r.error());
    }

    @Test
    void chatMessagesAreRenderedWithTheTemplate() {
        int[] ids = Prompts.fromMessages(engine, List.of(Map.of("role", "user", "content", "hello")));
        assertEquals(engine.tokenizer().bosId(), ids[0]);
        assertEquals(1, java.util.Arrays.stream(ids).filter(i -> i == engine.tokenizer().bosId()).count());
        assertThrows(IllegalArgumentException.class, () -> Prompts.fromMessages(engine, List.of(
                Map.of("role", "assistant", "content", "hi"))));
    }

    @ParameterizedTest(name = "{0} vs {1}/{2}")
    @CsvSource({"mini-mistral-f32.gguf, llamacpp, mini-mistral-f32", "mini-mistral-q8_0.gguf, exact-f64, mini-mistral-q8_0"})
    void oracleGreedyContinuationThroughTheEngine(String model, String kind, String stem) {
        Oracle.Reference ref = Oracle.reference(kind, stem);
        try (Engine e = Engines.open(Oracle.model(model),
                EngineOptions.defaults().withDevice("cpu").withThreads(2).withCpuMath("exact").withKvType("f32"))) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (Oracle.Prompt p : ref.prompts()) {
                reqs.add(new GenerationRequest(p.name(), p.promptIds(), greedy(p.greedyIds().length).build()));
            }
            List<GenerationResult> results = e.generate(reqs);
            for (int i = 0; i < reqs.size(); i++) {
                assertArrayEquals(ref.prompts().get(i).greedyIds(), results.get(i).tokenIds(),
                        "prompt " + reqs.get(i).id() + " run together with the others");
            }
            assertNotEquals(0, e.stats().steps());
        }
    }
}
