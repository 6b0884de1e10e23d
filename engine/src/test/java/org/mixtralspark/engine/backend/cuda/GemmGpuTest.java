package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.model.mixtral.Router;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kernel-level checks on a GPU (skipped elsewhere): the matrix products (dense, split-K, accumulate, grouped by
 * expert with gathered rows) against a float64 product of the same (bf16-rounded) inputs, over sizes 1, odd,
 * tile - 1 and large (STYLE example 4); routing and grouping against the CPU's Router. Outputs are poisoned with
 * NaN before each launch, so an unwritten element fails.
 */
class GemmGpuTest {

    private static CudaDevice dev;
    private static DeviceMemory mem;

    @BeforeAll
    static void open() {
        if (CudaAvailability.probe().available()) {
            dev = CudaDevice.open(0);
            mem = new DeviceMemory("cuda:0", 8L << 30);
        }
    }

    @BeforeEach
    void requireCuda() {
        GpuAssumptions.requireCuda();
    }

    @AfterAll
    static void close() {
        if (mem != null) {
            mem.close();
        }
        if (dev != null) {
            dev.close();
        }
    }

    @AfterEach
    void noLeaks() {
        if (mem == null) {
            return;
        }
        assertEquals(java.util.List.of(), mem.liveBuffers(), "device buffers left allocated");
    }

    private static float[] random(SplittableRandom rnd, int n, boolean bf16) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float x = (float) rnd.nextGaussian();
            v[i] = bf16 ? BFloat16.toFloat(BFloat16.fromFloat(x)) : x;
        }
        return v;
    }

    private static DeviceBuffer upload(String name, float[] v, Precision p) {
        DeviceBuffer b = mem.allocate(name, (long) v.length * p.bytes);
        if (p == Precision.BF16) {
            short[] s = new short[v.length];
            for (int i = 0; i < v.length; i++) {
                s[i] = BFloat16.fromFloat(v[i]);
            }
            b.copyFromHost(Pointer.to(s), 0, 2L * s.length);
        } else {
            b.copyFromHost(Pointer.to(v), 0, 4L * v.length);
        }
        return b;
    }

    private static DeviceBuffer uploadInts(String name, int[] v) {
        DeviceBuffer b = mem.allocate(name, 4L * Math.max(1, v.length));
        b.copyFromHost(Pointer.to(v), 0, 4L * v.length);
        return b;
    }

    private static float[] download(DeviceBuffer b, int n) {
        float[] out = new float[n];
        b.copyToHost(Pointer.to(out), 0, 4L * n);
        return out;
    }

    private static int[] downloadInts(DeviceBuffer b, int n) {
        int[] out = new int[n];
        b.copyToHost(Pointer.to(out), 0, 4L * n);
        return out;
    }

    private static void poison(DeviceBuffer b) {
        JCudaDriver.cuMemsetD32(b.ptr(), 0x7FC00000, b.bytes() / 4);
    }

    private static double relL2(double[] expected, float[] got) {
        double d = 0;
        double r = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(got[i]), "element " + i + " not written or not finite: " + got[i]);
            d += (got[i] - expected[i]) * (got[i] - expected[i]);
            r += expected[i] * expected[i];
        }
        return Math.sqrt(d / r);
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3} splits={4} accumulate={5}")
    @CsvSource({
            "BF16, 1, 64, 64, 1, false",
            "BF16, 17, 72, 136, 1, false",
            "BF16, 63, 1000, 256, 1, true",
            "BF16, 130, 130, 520, 1, false",
            "BF16, 3, 4096, 4096, 4, false",
            "BF16, 2, 1000, 1024, 3, true",
            "F32, 1, 64, 64, 1, false",
            "F32, 33, 100, 96, 1, true",
            "F32, 2, 300, 1024, 3, false",
    })
    void denseProductMatchesFloat64(Precision p, int m, int n, int k, int splits, boolean accumulate) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + n * 7L + k);
        boolean bf16 = p == Precision.BF16;
        float[] a = random(rnd, m * k, bf16);
        float[] w = random(rnd, n * k, bf16);
        float[] c0 = random(rnd, m * n, false);
        CudaKernels kernels = new CudaKernels(dev, p, true);
        int kSplit = (k + splits - 1) / splits;
        kSplit = (kSplit + 31) / 32 * 32;
        int realSplits = (k + kSplit - 1) / kSplit;
        try (DeviceBuffer da = upload("a", a, p); DeviceBuffer dw = upload("w", w, p);
             DeviceBuffer dc = mem.allocate("c", 4L * m * n);
             DeviceBuffer ws = mem.allocate("split_k", 4L * realSplits * m * n)) {
            if (accumulate) {
                dc.copyFromHost(Pointer.to(c0), 0, 4L * m * n);
            } else {
                poison(dc);
            }
            poison(ws);
            kernels.gemm(da.ptr(), null, 1, dw.ptr(), 0, dc.ptr(), m, n, k, null, null, (m + 63) / 64, accumulate,
                    realSplits, kSplit, ws.ptr());
            double[] expected = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int x = 0; x < k; x++) {
                        s += (double) a[i * k + x] * w[j * k + x];
                    }
                    expected[i * n + j] = (accumulate ? c0[i * n + j] : 0) + s;
                }
            }
            double rel = relL2(expected, download(dc, m * n));
            // fp32 accumulation of exact products; the tensor cores round their fp32 sums a little more coarsely
            assertTrue(rel < (bf16 ? 1e-4 : 1e-5), "rel L2 " + rel);
        }
    }

    @Test
    void groupedProductRunsEachExpertOverItsGatheredRows() {
        for (Precision p : Precision.values()) {
            int tokens = 37;
            int k = 2;
            int experts = 4;
            int n = 136;
            int dim = 96;
            SplittableRandom rnd = new SplittableRandom(3);
            boolean bf16 = p == Precision.BF16;
            float[] x = random(rnd, tokens * dim, bf16);
            float[] w = random(rnd, experts * n * dim, bf16);
            int[] chosen = new int[tokens * k];
            for (int t = 0; t < tokens; t++) {
                chosen[t * k] = rnd.nextInt(experts);
                chosen[t * k + 1] = (chosen[t * k] + 1 + rnd.nextInt(experts - 1)) % experts;
            }
            int pairs = tokens * k;
            CudaKernels kernels = new CudaKernels(dev, p, true);
            try (DeviceBuffer dx = upload("x", x, p); DeviceBuffer dw = upload("w", w, p);
                 DeviceBuffer dChosen = uploadInts("chosen", chosen);
                 DeviceBuffer sorted = mem.allocate("sorted", 4L * pairs);
                 DeviceBuffer pos = mem.allocate("pos", 4L * pairs);
                 DeviceBuffer tiles = mem.allocate("tiles", 12L * pairs);
                 DeviceBuffer nTiles = mem.allocate("n_tiles", 4);
                 DeviceBuffer out = mem.allocate("out", 4L * pairs * n)) {
                poison(out);
                kernels.moeGroup(dChosen.ptr(), pairs, experts, sorted.ptr(), pos.ptr(), tiles.ptr(), nTiles.ptr());
                int gridTiles = Math.min(pairs, (pairs + 63) / 64 + experts);
                kernels.gemm(dx.ptr(), sorted.ptr(), k, dw.ptr(), (long) n * dim, out.ptr(), pairs, n, dim,
                        tiles.ptr(), nTiles.ptr(), gridTiles, false, 1, 96, null);
                int[] sortedPair = downloadInts(sorted, pairs);
                int[] pairPos = downloadInts(pos, pairs);
                // grouping: stable by expert, pairPos its inverse
                for (int i = 1; i < pairs; i++) {
                    int e0 = chosen[sortedPair[i - 1]];
                    int e1 = chosen[sortedPair[i]];
                    assertTrue(e0 < e1 || (e0 == e1 && sortedPair[i - 1] < sortedPair[i]), "grouped order at " + i);
                }
                for (int i = 0; i < pairs; i++) {
                    assertEquals(i, sortedPair[pairPos[i]]);
                }
                float[] got = download(out, pairs * n);
                double[] expected = new double[pairs * n];
                for (int r = 0; r < pairs; r++) {
                    int pair = sortedPair[r];
                    int token = pair / k;
                    int e = chosen[pair];
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int d = 0; d < dim; d++) {
                            s += (double) x[token * dim + d] * w[(e * n + j) * dim + d];
                        }
                        expected[r * n + j] = s;
                    }
                }
                double rel = relL2(expected, got);
                assertTrue(rel < (bf16 ? 1e-4 : 1e-5), p + ": rel L2 " + rel);
            }
        }
    }

    @Test
    void routingMatchesTheCpuRouter() {
        int tokens = 50;
        int dim = 256;
        int experts = 8;
        int k = 2;
        SplittableRandom rnd = new SplittableRandom(9);
        float[] x = random(rnd, tokens * dim, false);
        float[] router = random(rnd, experts * dim, false);
        CudaKernels kernels = new CudaKernels(dev, Precision.BF16, true);
        try (DeviceBuffer dx = upload("x", x, Precision.F32); DeviceBuffer dr = upload("router", router,
                Precision.F32);
             DeviceBuffer chosen = mem.allocate("chosen", 4L * tokens * k);
             DeviceBuffer weights = mem.allocate("weights", 4L * tokens * k)) {
            kernels.moeRoute(dx.ptr(), dr.ptr(), chosen.ptr(), weights.ptr(), tokens, dim, experts, k);
            int[] gotIds = downloadInts(chosen, tokens * k);
            float[] gotW = download(weights, tokens * k);
            for (int t = 0; t < tokens; t++) {
                float[] logits = new float[experts];
                for (int e = 0; e < experts; e++) {
                    double s = 0;
                    for (int d = 0; d < dim; d++) {
                        s += (double) router[e * dim + d] * x[t * dim + d];
                    }
                    logits[e] = (float) s;
                }
                int[] ids = new int[k];
                float[] w = new float[k];
                Router.route(logits, 0, experts, k, ids, w, 0);
                assertArrayEquals(ids, java.util.Arrays.copyOfRange(gotIds, t * k, t * k + k), "token " + t);
                for (int i = 0; i < k; i++) {
                    assertEquals(w[i], gotW[t * k + i], 1e-5, "token " + t + " weight " + i);
                }
            }
        }
    }
}
