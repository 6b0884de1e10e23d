package org.mixtralspark.engine.backend.cuda;


import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.backend.cpu.CpuModelRunner;
import org.mixtralspark.engine.backend.ModelRunner;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The CUDA backend against the CPU backend on one model, over {@link Scenario}s (batched, chunked prefill, then
 * decoding). The GPU is run along the CPU's greedy path (teacher forcing), so that its logits can be compared at
 * every step even where bf16 rounding would make a near-tie go the other way; in the F32 mode the GPU's own greedy
 * continuation must also be the CPU's, token for token.
 *
 * <p>Tolerances, with the relative L2 error {@code ||gpu - cpu|| / ||cpu||} taken over all logits of all compared
 * rows (each sequence after its prompt and after each decoded token) and per row:
 * <ul>
 * <li>F32 mode: overall at most {@value #F32_REL_L2}, max |diff| at most {@value #F32_MAX_ABS} (the oracle agreement
 * tests' bound), greedy continuations identical;
 * <li>BF16 mode: the median row at most {@value #BF16_MEDIAN_REL_L2} (bf16 operands give 1e-3 to 1e-2 per product)
 * and overall at most {@value #BF16_REL_L2}. The overall bound is looser because bf16 rounding legitimately flips a
 * router's near-tie now and then, and a token routed to another expert has visibly different logits; a systematic
 * error shows in the median.
 * </ul>
 */
final class Equivalence {

    static final double F32_REL_L2 = 1e-4;
    static final double F32_MAX_ABS = 1e-3;
    static final double BF16_REL_L2 = 5e-2;
    static final double BF16_MEDIAN_REL_L2 = 1e-2;

    /** One scenario's comparison. */
    record Result(String device, String model, String precision, String scenario, int logitRows, double relL2,
                  double medianRowRelL2, double maxRowRelL2, double maxAbs, double maxAbsReference,
                  double argmaxAgreement, boolean greedyIdentical, boolean pass, String note) {
    }

    /** A scenario: prompts (token ids), prefill chunk, decode steps. */
    record Case(String name, int[][] prompts, int chunk, int steps) {
    }

    private Equivalence() {
    }

    /** The scenarios for a model: one short prompt, a batch of mixed lengths, a long chunked prompt. */
    static List<Case> cases(int vocab, int context, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Case> out = new ArrayList<>();
        out.add(new Case("one sequence, 12-token prompt, 24 steps", new int[][] {prompt(rnd, vocab, 12)}, 512, 24));
        out.add(new Case("batch of 4 (1, 7, 40, 300 tokens), chunks of 64, 16 steps", new int[][] {
                prompt(rnd, vocab, 1), prompt(rnd, vocab, 7), prompt(rnd, vocab, 40), prompt(rnd, vocab, 300)},
                64, 16));
        int longPrompt = Math.min(700, context - 40);
        out.add(new Case("one sequence, " + longPrompt + "-token prompt in chunks of 128, 8 steps",
                new int[][] {prompt(rnd, vocab, longPrompt)}, 128, 8));
        return out;
    }

    private static int[] prompt(SplittableRandom rnd, int vocab, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = rnd.nextInt(vocab);
        }
        return p;
    }

    /** Compares the two backends on {@code weights} in precision {@code p} on CUDA device {@code ordinal}. */
    static List<Result> compare(MixtralWeights weights, String model, Precision p, int ordinal, int threads) {
        List<Result> results = new ArrayList<>();
        int context = weights.config().contextLength();
        List<Case> cases = cases(weights.config().vocabSize(), context, 42);
        long kvBytes = 64L << 20;
        CudaOptions o = new CudaOptions(ordinal, p, kvBytes, 8, Math.min(context, 4096), 512, 0,
                Boolean.parseBoolean(System.getProperty("mixtral.cuda.sync", "true")));
        try (ModelRunner cpu = new CpuModelRunner(weights, threads, kvBytes, CpuMath.exact(), KvType.F32);
             CudaModelRunner gpu = CudaModelRunner.load(weights, model, o)) {
            String device = gpu.deviceName() + " (" + gpu.device() + ")";
            for (Case c : cases) {
                Scenario.Trace ref = Scenario.run(cpu, c.prompts(), c.chunk(), c.steps(), null);
                Scenario.Trace forced = Scenario.run(gpu, c.prompts(), c.chunk(), c.steps(), ref.tokens());
                boolean greedy = true;
                String note = "";
                if (p == Precision.F32) {
                    Scenario.Trace free = Scenario.run(gpu, c.prompts(), c.chunk(), c.steps(), null);
                    for (int i = 0; i < c.prompts().length; i++) {
                        if (!java.util.Arrays.equals(free.tokens()[i], ref.tokens()[i])) {
                            greedy = false;
                            note = "sequence " + i + ": cpu " + java.util.Arrays.toString(ref.tokens()[i])
                                    + " gpu " + java.util.Arrays.toString(free.tokens()[i]);
                        }
                    }
                }
                results.add(measure(device, model, p, c.name(), ref, forced, greedy, note));
            }
        }
        return results;
    }

    static Result measure(String device, String model, Precision p, String scenario, Scenario.Trace ref, Scenario.Trace got,
                          boolean greedyIdentical, String note) {
        double diff2 = 0;
        double ref2 = 0;
        double maxAbs = 0;
        double maxRef = 0;
        int rows = 0;
        int agree = 0;
        boolean finite = true;
        List<Double> rowRel = new ArrayList<>();
        for (int s = 0; s < ref.logits().length; s++) {
            for (int i = 0; i < ref.logits()[s].length; i++) {
                float[] a = ref.logits()[s][i];
                float[] b = got.logits()[s][i];
                rows++;
                if (Scenario.argmax(a) == Scenario.argmax(b)) {
                    agree++;
                }
                double rowDiff2 = 0;
                double rowRef2 = 0;
                for (int v = 0; v < a.length; v++) {
                    if (!Float.isFinite(b[v])) {
                        finite = false;
                    }
                    double d = (double) b[v] - a[v];
                    rowDiff2 += d * d;
                    rowRef2 += (double) a[v] * a[v];
                    maxAbs = Math.max(maxAbs, Math.abs(d));
                    maxRef = Math.max(maxRef, Math.abs(a[v]));
                }
                diff2 += rowDiff2;
                ref2 += rowRef2;
                rowRel.add(Math.sqrt(rowDiff2 / rowRef2));
            }
        }
        java.util.Collections.sort(rowRel);
        double rel = finite ? Math.sqrt(diff2 / ref2) : Double.NaN;
        double median = finite ? rowRel.get(rowRel.size() / 2) : Double.NaN;
        double maxRow = finite ? rowRel.get(rowRel.size() - 1) : Double.NaN;
        boolean pass = finite && (p == Precision.F32
                ? rel <= F32_REL_L2 && maxAbs <= F32_MAX_ABS && greedyIdentical
                : rel <= BF16_REL_L2 && median <= BF16_MEDIAN_REL_L2);
        return new Result(device, model, p.name().toLowerCase(), scenario, rows, rel, median, maxRow,
                finite ? maxAbs : Double.NaN, maxRef, agree / (double) rows, greedyIdentical, pass,
                finite ? note : "non-finite logits from the GPU");
    }
}
