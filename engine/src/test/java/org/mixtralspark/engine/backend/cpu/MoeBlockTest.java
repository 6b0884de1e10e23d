package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.model.ExpertWeights;
import org.mixtralspark.engine.model.LayerWeights;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.model.mixtral.ReferenceForward;
import org.mixtralspark.engine.model.mixtral.Router;
import org.mixtralspark.engine.model.mixtral.Routing;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched MoE block stage by stage against the reference pass ({@link ReferenceForward#route},
 * {@link ReferenceForward#expert}, {@link ReferenceForward#moe}) and against HF's definition of the routing
 * ({@code MixtralSparseMoeBlock}: softmax in fp32, top-k, divide by the sum), written out here independently of
 * {@link Router}. Layers are random ({@link RandomWeights}: every weight type; the router drawn as
 * {@link RandomCheckpoints} draws it, std 4 / sqrt(dim)); sizes T = 1, odd and large (more than a 64-row tile of one
 * expert); 8 experts top-2, 5 experts top-3, and the dense one-expert case.
 */
class MoeBlockTest {

    /** 8 experts, top-2 (the 8x7B routing) on small widths; one layer. */
    private static final MixtralConfig TOP2 = new MixtralConfig(32, 64, 96, 1, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);
    /** 5 experts, top-3: k > 2 and an odd expert count. */
    private static final MixtralConfig TOP3 = new MixtralConfig(32, 64, 96, 1, 4, 2, 16, 5, 3, 1e6, 1e-5f, 256);
    /** Widths that are whole K-quant super-blocks (256), for every weight type. */
    private static final MixtralConfig WIDE = new MixtralConfig(32, 256, 256, 1, 4, 2, 64, 8, 2, 1e6, 1e-5f, 256);
    /** A dense FFN: one expert, no router. */
    private static final MixtralConfig DENSE = new MixtralConfig(32, 64, 96, 1, 4, 2, 16, 1, 1, 1e6, 1e-5f, 256);

    private static final GgmlType[] TYPES = {
            GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

    private static ThreadTeam team;

    @BeforeAll
    static void start() {
        team = new ThreadTeam(2, "moe");
    }

    @AfterAll
    static void stop() {
        team.close();
    }

    /**
     * nmse bound ({@code sum (a - b)^2 / sum b^2}, as llama.cpp's test-backend-ops) of the block, which sums in fp32
     * in its kernels' order, against the reference, which sums in double, per weight type. Both decode the weights
     * bit-exactly to the same fp32 values, so only the rounding of the sums differs, and nmse is relative: measured,
     * every type lands in the same range (the experts stage at most 9e-13, the whole block 1.5e-12, with the scalar
     * kernel's plain running sums), so every type has the same bound for now. A wrong routing weight or a wrong row
     * gives 1e-3 and more.
     */
    private static double maxNmse(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> 1e-11;
            default -> throw new IllegalArgumentException("no bound for " + type);
        };
    }

    // ------------------------------------------------------------------------------------------------- route

    static Stream<Arguments> configsAndSizes() {
        List<Arguments> args = new ArrayList<>();
        for (MixtralConfig c : new MixtralConfig[] {TOP2, TOP3}) {
            for (int n : new int[] {1, 7, 257}) {
                args.add(Arguments.of(c, n));
            }
        }
        return args.stream();
    }

    @ParameterizedTest
    @MethodSource("configsAndSizes")
    void routeChoosesTheReferencesExpertsWithHfsWeights(MixtralConfig c, int n) {
        LayerWeights lw = layer(c, GgmlType.F32, 11);
        float[] xb = RandomWeights.gaussian(n * c.dim(), 12);
        Routing routing = new MoeBlock(c, CpuMath.exact(), team).route(lw, xb, n);
        ReferenceForward ref = new ReferenceForward(model(c, lw));

        assertEquals(n, routing.tokens());
        assertEquals(c.expertsUsed(), routing.k());
        for (int t = 0; t < n; t++) {
            float[] x = row(xb, t, c.dim());
            Routing expected = ref.route(lw, x);
            double[] hf = hfWeights(referenceLogits(lw, c, x), c.expertsUsed());
            for (int s = 0; s < c.expertsUsed(); s++) {
                int p = t * c.expertsUsed() + s;
                assertEquals(expected.expertIds()[s], routing.expertIds()[p], "token " + t + " slot " + s);
                assertEquals(expected.weights()[s], routing.weights()[p], 1e-6, "token " + t + " slot " + s);
                assertEquals(hf[routing.expertIds()[p]], routing.weights()[p], 1e-6, "HF weight, token " + t);
            }
        }
    }

    /** Experts 2 and 5 share a router row, the others its negation: every token's choice is a tie. */
    @Test
    void routeBreaksTiesTowardTheLowerIndexLikeTheReference() {
        LayerWeights random = layer(TOP2, GgmlType.F32, 21);
        float[] router = new float[TOP2.experts() * TOP2.dim()];
        float[] u = RandomWeights.gaussian(TOP2.dim(), 22);
        for (int e = 0; e < TOP2.experts(); e++) {
            for (int i = 0; i < TOP2.dim(); i++) {
                router[e * TOP2.dim() + i] = e == 2 || e == 5 ? u[i] : -u[i];
            }
        }
        LayerWeights lw = withRouter(random, router);
        int n = 40;
        float[] xb = RandomWeights.gaussian(n * TOP2.dim(), 23);
        Routing routing = new MoeBlock(TOP2, CpuMath.exact(), team).route(lw, xb, n);
        ReferenceForward ref = new ReferenceForward(model(TOP2, lw));
        int positive = 0;
        for (int t = 0; t < n; t++) {
            float[] x = row(xb, t, TOP2.dim());
            double ux = 0;
            for (int i = 0; i < x.length; i++) {
                ux += (double) u[i] * x[i];
            }
            int[] ids = ux > 0 ? new int[] {2, 5} : new int[] {0, 1};
            positive += ux > 0 ? 1 : 0;
            assertArrayEquals(ids, Arrays.copyOfRange(routing.expertIds(), 2 * t, 2 * t + 2), "token " + t);
            assertArrayEquals(new float[] {0.5f, 0.5f}, Arrays.copyOfRange(routing.weights(), 2 * t, 2 * t + 2));
            assertEquals(ref.route(lw, x), new Routing(8, 2, Arrays.copyOfRange(routing.expertIds(), 2 * t, 2 * t + 2),
                    Arrays.copyOfRange(routing.weights(), 2 * t, 2 * t + 2)), "token " + t);
        }
        assertTrue(positive > 5 && positive < n - 5, "both kinds of tie were met: " + positive);
    }

    /** Logits drawn from three values, so most tokens tie: Routing.route is Router.route token by token. */
    @Test
    void routingOfLogitsIsRouterPerTokenWithTies() {
        SplittableRandom rnd = new SplittableRandom(31);
        for (MixtralConfig c : new MixtralConfig[] {TOP2, TOP3}) {
            int n = 200;
            int e = c.experts();
            int k = c.expertsUsed();
            float[] logits = new float[n * e];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = rnd.nextInt(3) - 1f;
            }
            Routing routing = Routing.route(logits, n, e, k);
            for (int t = 0; t < n; t++) {
                int[] ids = new int[k];
                float[] weights = new float[k];
                Router.route(logits, t * e, e, k, ids, weights, 0);
                assertArrayEquals(ids, Arrays.copyOfRange(routing.expertIds(), t * k, t * k + k));
                assertArrayEquals(weights, Arrays.copyOfRange(routing.weights(), t * k, t * k + k));
                // HF's top-k of the softmax, the lower index first among equals
                double[] logitsT = new double[e];
                for (int j = 0; j < e; j++) {
                    logitsT[j] = logits[t * e + j];
                }
                assertArrayEquals(hfTopK(logitsT, k), ids, "token " + t);
                double[] hf = hfWeights(logitsT, k);
                for (int s = 0; s < k; s++) {
                    assertEquals(hf[ids[s]], weights[s], 1e-6);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------- group

    @ParameterizedTest
    @MethodSource("configsAndSizes")
    void groupGivesEachExpertExactlyItsPairsInTokenOrder(MixtralConfig c, int n) {
        SplittableRandom rnd = new SplittableRandom(41 + n);
        float[] logits = new float[n * c.experts()];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = rnd.nextInt(4) == 0 ? 0f : (float) rnd.nextGaussian(); // ties too
        }
        Routing routing = Routing.route(logits, n, c.experts(), c.expertsUsed());
        Routing.Groups groups = new MoeBlock(c, CpuMath.exact(), team).group(routing);

        int[] counts = routing.expertCounts();
        assertEquals(n * c.expertsUsed(), Arrays.stream(counts).sum(), "counts sum to T*k");
        assertEquals(c.experts(), groups.experts());
        assertEquals(n * c.expertsUsed(), groups.pairs().length);
        for (int e = 0; e < c.experts(); e++) {
            List<Integer> expected = new ArrayList<>();
            for (int p = 0; p < routing.expertIds().length; p++) {
                if (routing.expertIds()[p] == e) {
                    expected.add(p);
                }
            }
            int[] actual = Arrays.copyOfRange(groups.pairs(), groups.start()[e], groups.start()[e + 1]);
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), actual, "expert " + e);
            assertEquals(counts[e], groups.count(e));
            for (int j = 1; j < actual.length; j++) {
                assertTrue(routing.token(actual[j - 1]) < routing.token(actual[j]), "token order, expert " + e);
            }
            for (int p : actual) {
                assertEquals(e, routing.expertIds()[routing.token(p) * routing.k() + routing.slot(p)]);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- experts

    static Stream<Arguments> typesAndMatmuls() {
        List<Arguments> args = new ArrayList<>();
        for (GgmlType t : TYPES) {
            args.add(Arguments.of(t, CpuMath.exact()));
            args.add(Arguments.of(t, new ScalarMatmul()));
        }
        return args.stream();
    }

    @ParameterizedTest
    @MethodSource("typesAndMatmuls")
    void expertsStageIsTheReferenceSwiGluOfEachPair(GgmlType type, Matmul matmul) {
        int n = 9;
        LayerWeights lw = layer(WIDE, type, 51);
        float[] xb = RandomWeights.gaussian(n * WIDE.dim(), 52);
        MoeBlock block = new MoeBlock(WIDE, matmul, team);
        Routing routing = block.route(lw, xb, n);
        Routing.Groups groups = block.group(routing);
        float[] y = block.experts(lw, xb, routing, groups);

        int dim = WIDE.dim();
        for (int r = 0; r < groups.pairs().length; r++) {
            int p = groups.pairs()[r];
            ExpertWeights expert = lw.experts()[routing.expertIds()[p]];
            float[] expected = ReferenceForward.expert(expert, row(xb, routing.token(p), dim));
            double nmse = VectorMatmulTest.nmse(row(y, r, dim), expected);
            assertTrue(nmse < maxNmse(type), type + " " + matmul.getClass().getSimpleName() + " pair " + p
                    + ": nmse " + nmse);
        }
    }

    // ----------------------------------------------------------------------------------------------- combine

    @ParameterizedTest
    @MethodSource("configsAndSizes")
    void combineIsTheWeightedSumOverEachTokensExpertsInExpertOrder(MixtralConfig c, int n) {
        LayerWeights lw = layer(c, GgmlType.F32, 61);
        MoeBlock block = new MoeBlock(c, CpuMath.exact(), team);
        Routing routing = block.route(lw, RandomWeights.gaussian(n * c.dim(), 62), n);
        Routing.Groups groups = block.group(routing);
        int dim = c.dim();
        int k = c.expertsUsed();
        float[] y = RandomWeights.gaussian(n * k * dim, 63);
        int[] rowOf = new int[n * k]; // each pair's grouped row
        for (int r = 0; r < rowOf.length; r++) {
            rowOf[groups.pairs()[r]] = r;
        }
        float[] out = block.combine(routing, groups, y, n);

        for (int t = 0; t < n; t++) {
            Integer[] slots = new Integer[k];
            for (int s = 0; s < k; s++) {
                slots[s] = s;
            }
            int tt = t;
            Arrays.sort(slots, (a, b) -> Integer.compare(routing.expertIds()[tt * k + a],
                    routing.expertIds()[tt * k + b]));
            for (int i = 0; i < dim; i++) {
                double exact = 0;
                float inExpertOrder = 0f;
                for (int s : slots) {
                    int p = t * k + s;
                    float term = routing.weights()[p] * y[rowOf[p] * dim + i];
                    exact += (double) routing.weights()[p] * y[rowOf[p] * dim + i];
                    inExpertOrder += term;
                }
                assertEquals(exact, out[t * dim + i], 1e-5 * (1 + Math.abs(exact)), "token " + t + " dim " + i);
                assertEquals(Float.floatToRawIntBits(inExpertOrder), Float.floatToRawIntBits(out[t * dim + i]),
                        "summed in expert order, token " + t + " dim " + i);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ whole block

    static Stream<Arguments> typesConfigsAndSizes() {
        List<Arguments> args = new ArrayList<>();
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0}) {
            for (MixtralConfig c : new MixtralConfig[] {TOP2, TOP3, DENSE}) {
                for (int n : new int[] {1, 7, 257}) {
                    args.add(Arguments.of(type, c, n));
                }
            }
        }
        return args.stream();
    }

    @ParameterizedTest
    @MethodSource("typesConfigsAndSizes")
    void blockIsTheReferenceMoeOfEachToken(GgmlType type, MixtralConfig c, int n) {
        LayerWeights lw = layer(c, type, 71);
        float[] xb = RandomWeights.gaussian(n * c.dim(), 72);
        MoeBlock block = new MoeBlock(c, CpuMath.exact(), team);
        float[] out = block.forward(0, lw, xb, n).clone();
        ReferenceForward ref = new ReferenceForward(model(c, lw));

        assertEquals(block.route(lw, xb, n), block.routing(0), "the step's routing is kept");
        for (int t = 0; t < n; t++) {
            float[] expected = ref.moe(lw, row(xb, t, c.dim()));
            double nmse = VectorMatmulTest.nmse(row(out, t, c.dim()), expected);
            assertTrue(nmse < maxNmse(type), type + " T=" + n + " token " + t + ": nmse " + nmse);
        }
    }

    @Test
    void aTokensOutputDoesNotDependOnTheRestOfTheBatch() {
        int n = 37;
        int dim = TOP2.dim();
        LayerWeights lw = layer(TOP2, GgmlType.Q8_0, 81);
        float[] xb = RandomWeights.gaussian(n * dim, 82);
        MoeBlock block = new MoeBlock(TOP2, CpuMath.exact(), team);
        float[] together = block.forward(0, lw, xb, n).clone();
        float[] reversed = new float[n * dim];
        for (int t = 0; t < n; t++) {
            System.arraycopy(xb, t * dim, reversed, (n - 1 - t) * dim, dim);
        }
        float[] outReversed = block.forward(0, lw, reversed, n).clone();
        for (int t = 0; t < n; t++) {
            float[] alone = block.forward(0, lw, row(xb, t, dim), 1);
            assertArrayEquals(row(together, t, dim), Arrays.copyOf(alone, dim), "token " + t + " alone == in batch");
            assertArrayEquals(row(together, t, dim), row(outReversed, n - 1 - t, dim), "token " + t + " reordered");
        }
    }

    @Test
    void denseLayerSendsEveryTokenToTheOneExpertWithWeightOne() {
        int n = 5;
        LayerWeights lw = layer(DENSE, GgmlType.F32, 91);
        float[] xb = RandomWeights.gaussian(n * DENSE.dim(), 92);
        MoeBlock block = new MoeBlock(DENSE, CpuMath.exact(), team);
        Routing routing = block.route(lw, xb, n);
        assertEquals(Routing.dense(n), routing);
        assertArrayEquals(new int[n], routing.expertIds());
        assertArrayEquals(new int[] {n}, routing.expertCounts());
        Routing.Groups groups = block.group(routing);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, groups.pairs());
        float[] y = block.experts(lw, xb, routing, groups).clone();
        float[] out = block.forward(0, lw, xb, n);
        assertArrayEquals(Arrays.copyOf(y, n * DENSE.dim()), Arrays.copyOf(out, n * DENSE.dim()),
                "weight 1: the block is the expert");
    }

    /** BatchForward keeps each layer's routing of the latest step, for an expert-load report. */
    @Test
    void batchForwardKeepsEachLayersRoutingOfTheLatestStep(@TempDir Path tmp) {
        MixtralConfig c = new MixtralConfig(300, 64, 96, 3, 4, 2, 16, 8, 2, 1e6, 1e-5f, 256);
        Path file = tmp.resolve("m.gguf");
        CheckpointWriter.writeGguf(RandomCheckpoints.create("moe", c, 5), file, GgmlType.Q8_0, false);
        try (LoadedModel m = ModelLoader.load(file)) {
            PagedKvCache cache = new PagedKvCache(m.config(), 16, 4, KvType.F32);
            BatchForward forward = new BatchForward(m.weights(), CpuMath.exact(), team, cache);
            assertNull(forward.routing(0), "no step yet");
            BlockTable a = new BlockTable();
            BlockTable b = new BlockTable();
            cache.allocator().reserve(a, 8);
            cache.allocator().reserve(b, 8);
            forward.forward(new int[] {1, 7, 9, 200, 3, 4}, new int[] {0, 1, 2, 3, 0, 1},
                    new BlockTable[] {a, a, a, a, b, b}, new int[] {3, 5});
            Routing[] prefill = new Routing[c.layers()];
            for (int l = 0; l < c.layers(); l++) {
                prefill[l] = forward.routing(l);
                assertEquals(6, prefill[l].tokens(), "layer " + l);
                assertEquals(12, Arrays.stream(prefill[l].expertCounts()).sum());
            }
            forward.forward(new int[] {10, 11}, new int[] {4, 2}, new BlockTable[] {a, b}, new int[] {0, 1});
            for (int l = 0; l < c.layers(); l++) {
                assertEquals(2, forward.routing(l).tokens(), "layer " + l + " holds the latest step");
                assertEquals(6, prefill[l].tokens(), "an earlier step's routing is not overwritten");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** HF's routing weights of all E experts: softmax(logits) in double, the top k divided by their sum, else 0. */
    private static double[] hfWeights(double[] logits, int k) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] p = new double[logits.length];
        for (int e = 0; e < p.length; e++) {
            p[e] = Math.exp(logits[e] - max);
        }
        double total = Arrays.stream(p).sum();
        int[] top = hfTopK(logits, k);
        double chosen = 0;
        for (int e : top) {
            chosen += p[e] / total;
        }
        double[] w = new double[p.length];
        for (int e : top) {
            w[e] = p[e] / total / chosen;
        }
        return w;
    }

    /** The k largest, best first; among equals the lower index first (what torch.topk is not guaranteed to do). */
    private static int[] hfTopK(double[] logits, int k) {
        Integer[] order = new Integer[logits.length];
        for (int e = 0; e < order.length; e++) {
            order[e] = e;
        }
        Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Double.compare(logits[b], logits[a])
                : Integer.compare(a, b));
        int[] top = new int[k];
        for (int i = 0; i < k; i++) {
            top[i] = order[i];
        }
        return top;
    }

    /** The router logits as the reference computes them: double sums rounded to fp32. */
    private static double[] referenceLogits(LayerWeights lw, MixtralConfig c, float[] x) {
        double[] logits = new double[c.experts()];
        for (int e = 0; e < c.experts(); e++) {
            double s = 0;
            for (int i = 0; i < c.dim(); i++) {
                s += (double) lw.router()[e * c.dim() + i] * x[i];
            }
            logits[e] = (float) s;
        }
        return logits;
    }

    /** One random MoE layer of {@code type} (attention weights unused here); no router when dense. */
    private static LayerWeights layer(MixtralConfig c, GgmlType type, long seed) {
        ExpertWeights[] experts = new ExpertWeights[c.experts()];
        for (int e = 0; e < experts.length; e++) {
            long s = seed * 1000 + 10L * e;
            experts[e] = new ExpertWeights(matrix("w1." + e, type, c.hiddenDim(), c.dim(), s),
                    matrix("w3." + e, type, c.hiddenDim(), c.dim(), s + 1),
                    matrix("w2." + e, type, c.dim(), c.hiddenDim(), s + 2));
        }
        float[] router = null;
        if (c.isMoe()) {
            router = RandomWeights.gaussian(c.experts() * c.dim(), seed * 1000 + 999);
            float std = (float) (4 / Math.sqrt(c.dim()));
            for (int i = 0; i < router.length; i++) {
                router[i] *= std;
            }
        }
        WeightMatrix unused = matrix("attn", GgmlType.F32, c.dim(), c.dim(), seed);
        float[] ones = new float[c.dim()];
        Arrays.fill(ones, 1f);
        return new LayerWeights(ones, unused, unused, unused, unused, ones, router, experts);
    }

    private static LayerWeights withRouter(LayerWeights l, float[] router) {
        return new LayerWeights(l.attnNorm(), l.wq(), l.wk(), l.wv(), l.wo(), l.ffnNorm(), router, l.experts());
    }

    /** A one-layer model around {@code layer}, for the reference pass's block methods. */
    private static MixtralWeights model(MixtralConfig c, LayerWeights layer) {
        WeightMatrix embedding = matrix("embed", GgmlType.F32, c.vocabSize(), c.dim(), 7);
        return new MixtralWeights(c, embedding, new LayerWeights[] {layer}, layer.ffnNorm(), embedding);
    }

    private static WeightMatrix matrix(String name, GgmlType type, int rows, int cols, long seed) {
        return new WeightMatrix(name, type, rows, cols, RandomWeights.matrix(type, rows, cols, seed, false), null);
    }

    private static float[] row(float[] a, int r, int width) {
        return Arrays.copyOfRange(a, r * width, (r + 1) * width);
    }
}
