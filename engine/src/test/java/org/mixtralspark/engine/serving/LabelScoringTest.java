package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.RawLogprobs;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Label scoring: each label's log-probability after the prompt, computed with one prefill of the prompt and one fork
 * per label, against a brute-force run of each label appended to the prompt through the reference forward pass.
 */
class LabelScoringTest {

    private static final MixtralConfig C = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void write() {
        model = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("m", C, 11), model, GgmlType.F32, false);
    }

    static int[] prompt(int n, int salt) {
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) {
            p[i] = 3 + (i * 37 + salt) % 500;
        }
        return p;
    }

    /** One-token labels, labels sharing one and two leading tokens, and a long one crossing block boundaries. */
    static LabelScoring labels(boolean normalize) {
        int[] longLabel = new int[30];
        for (int i = 0; i < longLabel.length; i++) {
            longLabel[i] = 100 + (i * 7) % 300;
        }
        return new LabelScoring(List.of("a", "a b c", "a b d", "long", "z"),
                List.of(new int[] {5}, new int[] {5, 17, 200}, new int[] {5, 17, 201}, longLabel, new int[] {250}),
                normalize);
    }

    static EngineOptions exact() {
        return EngineOptions.defaults().withDevice("cpu").withThreads(2).withCpuMath("exact").withKvType("f32");
    }

    static GenerationRequest scoring(String id, int[] prompt, LabelScoring labels) {
        return new GenerationRequest(id, prompt, SamplingParams.defaults()).withLabels(labels);
    }

    /** log P(label token j | prompt, label[0..j)) for each j, by the reference forward pass over prompt + label. */
    static double[] bruteForce(LoadedModel m, int[] prompt, int[] label) {
        ReferenceForward ref = new ReferenceForward(m.weights());
        ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.config(), prompt.length + label.length);
        float[] logits = null;
        for (int t : prompt) {
            logits = ref.forward(seq, t);
        }
        double[] out = new double[label.length];
        for (int j = 0; j < label.length; j++) {
            out[j] = RawLogprobs.of(logits, label[j]);
            logits = ref.forward(seq, label[j]);
        }
        return out;
    }

    @Test
    void eachLabelsScoreIsThatOfTheLabelAppendedToThePromptThroughTheReferencePass() {
        int[] prompt = prompt(37, 0); // two whole blocks of 16 and 5 positions
        LabelScoring labels = labels(false);
        GenerationResult r;
        try (Engine e = Engines.open(model, exact())) {
            r = e.submit(scoring("s", prompt, labels)).join();
            BlockAllocator blocks = ((LocalEngine) e).blocks();
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");
            assertEquals(prompt.length, e.stats().promptTokens(), "the prompt is computed once, not once per label");
        }
        assertTrue(r.ok(), r.error());
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(0, r.tokenIds().length, "nothing is generated");
        LabelScores scores = r.labelScores();
        assertEquals(labels.texts(), scores.labels().stream().map(LabelScores.Label::label).toList());
        double bestSum = Double.NEGATIVE_INFINITY;
        String best = null;
        try (LoadedModel m = ModelLoader.load(model)) {
            for (int i = 0; i < labels.size(); i++) {
                double[] expected = bruteForce(m, prompt, labels.idsOf(i));
                LabelScores.Label got = scores.labels().get(i);
                double[] tokens = got.tokenLogprobs();
                assertEquals(expected.length, tokens.length, labels.texts().get(i));
                double sum = 0;
                for (int j = 0; j < expected.length; j++) {
                    assertEquals(expected[j], tokens[j], TOLERANCE, labels.texts().get(i) + " token " + j);
                    sum += expected[j];
                }
                assertEquals(sum, got.logprob(), TOLERANCE * expected.length, labels.texts().get(i) + " sum");
                if (sum > bestSum) {
                    bestSum = sum;
                    best = labels.texts().get(i);
                }
            }
        }
        assertEquals(best, scores.best());
        assertEquals(best, r.text(), "the text is the best label");
        // labels sharing leading tokens: the shared tokens score the same in each
        assertEquals(scores.labels().get(0).tokenLogprobs()[0], scores.labels().get(1).tokenLogprobs()[0]);
        assertEquals(scores.labels().get(1).tokenLogprobs()[1], scores.labels().get(2).tokenLogprobs()[1]);
        assertTrue(scores.labels().get(1).tokenLogprobs()[2] != scores.labels().get(2).tokenLogprobs()[2]);
    }

    @Test
    void normalisedScoringChoosesTheBestMeanPerToken() {
        int[] prompt = prompt(20, 3);
        try (Engine e = Engines.open(model, exact())) {
            LabelScores sum = e.submit(scoring("s", prompt, labels(false))).join().labelScores();
            LabelScores mean = e.submit(scoring("m", prompt, labels(true))).join().labelScores();
            assertEquals(sum.labels(), mean.labels(), "the same scores; only the choice differs");
            LabelScores.Label bestMean = mean.labels().stream()
                    .max((x, y) -> Double.compare(x.meanLogprob(), y.meanLogprob())).orElseThrow();
            assertEquals(bestMean.label(), mean.best());
            assertTrue(mean.normalized());
            for (LabelScores.Label l : mean.labels()) {
                assertEquals(Arrays.stream(l.tokenLogprobs()).average().orElseThrow(), l.meanLogprob(), 1e-12);
            }
        }
    }

    /**
     * Scoring rows mixed with generating rows (and prompt log-probabilities) in one batch give bit for bit the scores
     * they give alone, with the default (fast) math and 16-bit KV; the generations are unchanged too.
     */
    @Test
    void scoresDoNotDependOnWhatElseIsInTheBatch() {
        EngineOptions fast = EngineOptions.defaults().withDevice("cpu").withThreads(2);
        List<GenerationRequest> mix = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] p = prompt(10 + 9 * i, i);
            GenerationRequest gen = new GenerationRequest("g" + i, p, SamplingParams.builder().temperature(1.0f)
                    .seed(7L + i).maxNewTokens(12).ignoreEos(true).build());
            mix.add(i % 2 == 0 ? scoring("s" + i, p, labels(i == 4)) : gen);
            if (i == 3) {
                mix.add(gen.withPromptLogprobs(2));
            }
        }
        List<GenerationResult> alone = new ArrayList<>();
        try (Engine e = Engines.open(model, fast.withMaxBatchSize(1))) {
            for (GenerationRequest r : mix) {
                alone.add(e.submit(r).join());
            }
        }
        for (boolean prefixCache : new boolean[] {false, true}) {
            try (Engine e = Engines.open(model, fast.withPrefixCache(prefixCache))) {
                List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
                for (GenerationRequest r : mix) {
                    fs.add(e.submit(r));
                }
                for (int i = 0; i < mix.size(); i++) {
                    GenerationResult x = alone.get(i);
                    GenerationResult y = fs.get(i).join();
                    assertTrue(y.ok(), y.error());
                    assertEquals(x.labelScores(), y.labelScores(), "scores of " + x.id());
                    assertArrayEquals(x.tokenIds(), y.tokenIds(), "tokens of " + x.id());
                    assertEquals(x.promptLogprobs(), y.promptLogprobs(), "prompt log-probabilities of " + x.id());
                }
                BlockAllocator blocks = ((LocalEngine) e).blocks();
                assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");
            }
        }
        assertTrue(alone.get(0).labelScores() != null && alone.get(1).labelScores() == null);
    }

    @Test
    void labelsInACacheTooSmallForAllOfThemArePreemptedAndScoreTheSame() {
        int[] prompt = prompt(37, 5);
        LabelScores roomy;
        try (Engine e = Engines.open(model, exact())) {
            roomy = e.submit(scoring("s", prompt, labels(false))).join().labelScores();
        }
        long perBlock = PagedKvCache.bytesPerBlock(C, BlockAllocator.DEFAULT_BLOCK_SIZE, KvType.F32);
        // 6 blocks of 16: the prompt takes 3; the 30-token label alone needs 5, the others 3 each
        try (Engine e = Engines.open(model, exact().withKvCacheBytes(6 * perBlock))) {
            GenerationResult r = e.submit(scoring("s", prompt, labels(false))).join();
            assertTrue(r.ok(), r.error());
            assertEquals(roomy, r.labelScores());
            assertTrue(((LocalEngine) e).preemptions() > 0, "a cache this small pre-empts label sequences");
            BlockAllocator blocks = ((LocalEngine) e).blocks();
            assertEquals(blocks.totalBlocks(), blocks.freeBlocks(), "every block is free again");
        }
    }

    @Test
    void aBadLabelListIsAnErrorResultNamingTheProblem() {
        int[] prompt = prompt(12, 1);
        try (Engine e = Engines.open(model, exact().withContextLength(20))) {
            assertError(e, prompt, new LabelScoring(List.of(), List.of(), false), "the list is empty");
            assertError(e, prompt, new LabelScoring(List.of("a", ""), List.of(new int[] {5}, new int[0]), false),
                    "label 1 is empty");
            assertError(e, prompt, new LabelScoring(List.of("a", "b", "a"),
                    List.of(new int[] {5}, new int[] {6}, new int[] {5}), false), "\"a\" is given twice");
            assertError(e, prompt, new LabelScoring(List.of("x"), List.of(new int[0]), false), "has no tokens");
            assertError(e, prompt, new LabelScoring(List.of("a", "long"), List.of(new int[] {5}, new int[9]), false),
                    "does not fit in the context of 20");
            assertError(e, prompt, new LabelScoring(List.of("a"), List.of(new int[] {5, 512}), false),
                    "outside the vocabulary");
            // 12 + 8 = 20 fits exactly, and the engine goes on
            GenerationResult ok = e.submit(scoring("ok", prompt, new LabelScoring(List.of("a", "eight"),
                    List.of(new int[] {5}, new int[] {5, 6, 7, 8, 9, 10, 11, 12}), false))).join();
            assertTrue(ok.ok(), ok.error());
            assertEquals(8, ok.labelScores().of("eight").tokenLogprobs().length);
        }
    }

    private static void assertError(Engine e, int[] prompt, LabelScoring labels, String message) {
        GenerationResult r = e.submit(scoring("bad", prompt, labels)).join();
        assertEquals(FinishReason.ERROR, r.finishReason());
        assertNull(r.labelScores());
        assertTrue(r.error().startsWith("labels: ") && r.error().contains(message), r.error());
    }
}
