package org.mixtralspark.engine.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.model.mixtral.Routing;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's routing statistics on a random F32 model: the counts add up to tokens x experts per token in every
 * layer, and each token's recorded experts are those the reference forward pass ({@link ReferenceForward}, one token
 * at a time, sums in double) routes it to.
 */
class RoutingStatsTest {

    // vocab, dim, hidden, layers, heads, kv heads, head dim, experts, experts per token, rope theta, eps, context
    private static final MixtralConfig TINY = new MixtralConfig(300, 64, 96, 3, 4, 2, 16, 8, 2, 1e6, 1e-5f, 128);

    private static Path model(Path tmp) {
        Path file = tmp.resolve("tiny.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("tiny", TINY, 11), file, GgmlType.F32, false);
        return file;
    }

    private static Engine open(Path file) {
        return Engines.open(file, EngineOptions.defaults().withDevice("cpu").withThreads(2).withMaxBatchSize(4));
    }

    private static GenerationRequest greedy(String id, int[] prompt, int newTokens) {
        return new GenerationRequest(id, prompt, SamplingParams.builder().greedy().maxNewTokens(newTokens)
                .ignoreEos(true).build());
    }

    @Test
    void eachLayersCountsSumToTokensComputedTimesExpertsPerToken(@TempDir Path tmp) {
        int[][] prompts = {{1, 17, 250, 3, 99}, {1, 4, 4, 4, 200, 201, 202, 7, 8, 9, 10}, {1, 60}};
        int newTokens = 6;
        try (Engine engine = open(model(tmp))) {
            assertEquals(RoutingCounts.zero(3, 8, 2), engine.routingCounts());
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                requests.add(greedy("r" + i, prompts[i], newTokens));
            }
            for (GenerationResult r : engine.generate(requests)) {
                assertTrue(r.ok(), r.error());
                assertEquals(newTokens, r.tokenIds().length);
            }
            // every prompt token is computed once, and each generated token but the last is fed back
            long computed = Arrays.stream(prompts).mapToLong(p -> p.length).sum()
                    + (long) prompts.length * (newTokens - 1);
            RoutingCounts counts = engine.routingCounts();
            assertTrue(counts.available());
            assertEquals(3, counts.layers());
            for (int l = 0; l < 3; l++) {
                assertEquals(computed * 2, Arrays.stream(counts.tokens()[l]).sum(), "layer " + l);
                assertEquals(computed, counts.tokensRouted(l));
            }
            // a second run adds to the counts: the table is per engine, since it was opened
            engine.generate(List.of(greedy("again", new int[] {1, 5, 6}, 2)));
            assertEquals((computed + 3 + 1) * 2, Arrays.stream(engine.routingCounts().tokens()[0]).sum());
            assertTrue(engine.tokenRoutes().isEmpty(), "per-token routing is off by default");
        }
    }

    @Test
    void recordedTokenRoutesAreTheReferenceForwardPassRouting(@TempDir Path tmp) {
        Path file = model(tmp);
        int[][] prompts = {{1, 17, 250, 3, 99, 41}, {1, 120, 121, 8}};
        int newTokens = 5;
        List<GenerationResult> results;
        List<TokenRoute> routes;
        RoutingCounts counts;
        try (Engine engine = open(file)) {
            engine.recordTokenRoutes(true);
            results = engine.generate(List.of(greedy("a", prompts[0], newTokens), greedy("b", prompts[1], newTokens)));
            routes = engine.tokenRoutes();
            counts = engine.routingCounts();
        }
        long[][] fromRoutes = new long[3][8];
        for (TokenRoute r : routes) {
            for (int e : r.experts()) {
                fromRoutes[r.layer()][e]++;
            }
        }
        assertArrayEquals(counts.tokens(), fromRoutes, "the per-token rows add up to the counts");

        try (LoadedModel m = ModelLoader.load(file)) {
            ReferenceForward ref = new ReferenceForward(m.weights());
            for (int s = 0; s < prompts.length; s++) {
                String id = s == 0 ? "a" : "b";
                // the tokens the engine computed: the prompt, then each generated token but the last
                int[] gen = results.get(s).tokenIds();
                int[] fed = IntStream.concat(Arrays.stream(prompts[s]), Arrays.stream(gen, 0, gen.length - 1))
                        .toArray();
                List<TokenRoute> mine = routes.stream().filter(r -> r.requestId().equals(id)).toList();
                assertEquals(fed.length * 3, mine.size(), "one row per computed token and layer of " + id);
                ReferenceForward.Sequence seq = new ReferenceForward.Sequence(m.weights().config(), fed.length);
                for (int pos = 0; pos < fed.length; pos++) {
                    Routing[] routed = new Routing[3];
                    ref.forward(seq, fed[pos], routed);
                    for (int l = 0; l < 3; l++) {
                        int p = pos;
                        int layer = l;
                        TokenRoute got = mine.stream().filter(r -> r.position() == p && r.layer() == layer)
                                .findFirst().orElseThrow();
                        assertEquals(fed[pos], got.tokenId());
                        assertArrayEquals(routed[l].expertIds(), got.experts(), id + " position " + pos + " layer " + l);
                        for (int slot = 0; slot < 2; slot++) {
                            assertEquals(routed[l].weights()[slot], got.weights()[slot], 1e-3,
                                    id + " position " + pos + " layer " + l + " slot " + slot);
                        }
                    }
                }
            }
        }
    }

    @Test
    void theReportIsATableOfLayerExpertTokensAndNamesWhatIsMissing(@TempDir Path tmp) throws Exception {
        RoutingCounts counts = new RoutingCounts(2, 3, 2, new long[][] {{4, 0, 2}, {1, 2, 3}}, null);
        List<TokenRoute> routes = List.of(new TokenRoute("x", 0, 1, 0, new int[] {0, 2}, new float[] {0.75f, 0.25f}));
        Path file = tmp.resolve("sub/routing.json");
        RoutingReport.write(file, counts, routes, id -> "<" + id + ">");
        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertTrue(json.get("available").asBoolean());
        assertEquals(6, json.get("counts").size());
        assertEquals(3, json.get("counts").get(5).get("tokens").asLong());
        assertEquals(1, json.get("counts").get(5).get("layer").asInt());
        assertEquals(2, json.get("counts").get(5).get("expert").asInt());
        assertEquals("<1>", json.get("token_routes").get(0).get("piece").asText());
        assertEquals(2, json.get("token_routes").get(0).get("experts").get(1).asInt());

        RoutingCounts none = RoutingCounts.unavailable("the cuda backend does not record expert routing");
        RoutingReport.write(file, none, List.of(), null);
        json = new ObjectMapper().readTree(file.toFile());
        assertFalse(json.get("available").asBoolean());
        assertTrue(json.get("reason").asText().contains("cuda"));
    }

    @Test
    void countsAddUpAcrossEnginesAndRefuseOtherModels() {
        RoutingCounts a = new RoutingCounts(1, 2, 1, new long[][] {{3, 1}}, null);
        RoutingCounts b = new RoutingCounts(1, 2, 1, new long[][] {{0, 5}}, null);
        assertArrayEquals(new long[][] {{3, 6}}, a.plus(b).tokens());
        assertFalse(a.plus(RoutingCounts.unavailable("gpu")).available(), "a partial sum is not a sum");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> a.plus(RoutingCounts.zero(2, 2, 1)));
        assertTrue(e.getMessage().contains("different models"), e.getMessage());
    }

    @Test
    void theCudaRunnersMissingRoutingIsReportedNotZero() {
        RoutingRecorder recorder = new RoutingRecorder(2, 8, 2, "cuda:0");
        recorder.add(new org.mixtralspark.engine.backend.StepInput(List.of()), List.of(),
                new org.mixtralspark.engine.backend.StepOutput(new float[0], 10, new int[0], null));
        RoutingCounts counts = recorder.counts();
        assertFalse(counts.available());
        assertTrue(counts.unavailable().contains("cuda:0"), counts.unavailable());
    }
}
