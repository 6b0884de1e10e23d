package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import org.mixtralspark.engine.tensor.GgmlType;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * A companion to {@link MatmulBenchmark} for a busy machine: one thread, timed by the CPU time of that thread
 * ({@link ThreadMXBean#getCurrentThreadCpuTime()}), so that time slices taken by other processes do not count. It
 * still feels them through shared caches and memory bandwidth. Reports the best of 5 rounds after a warm-up.
 *
 * <p>Usage: {@code MatmulCpuTime rows cols TYPE[,TYPE..] T[,T..] [seconds] [matmul class]}; the class defaults to
 * {@link CpuMath#exact()}, e.g. {@code org.mixtralspark.engine.backend.cpu.NativeMatmul} (the fast mode) or {@code org.mixtralspark.engine.backend.cpu.ScalarMatmul}.
 * {@code -Dmixtral.bench.heap=true} copies the weights to the heap first ({@link WeightMatrix#onHeap()}). Command: src/jmh/README.md.
 */
public final class MatmulCpuTime {

    private MatmulCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: MatmulCpuTime rows cols TYPE[,TYPE..] T[,T..] [seconds] [matmul class]");
            return;
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int rows = Integer.parseInt(args[0]);
        int cols = Integer.parseInt(args[1]);
        double seconds = args.length > 4 ? Double.parseDouble(args[4]) : 2;
        boolean heap = Boolean.getBoolean("mixtral.bench.heap"); // weights copied to the heap (WeightMatrix.onHeap)
        Matmul mm = args.length > 5
                ? (Matmul) Class.forName(args[5]).getDeclaredConstructor().newInstance()
                : CpuMath.exact();
        System.out.printf(Locale.ROOT, "%s, %dx%d, 1 thread, CPU time, weights %s%n", mm.getClass().getSimpleName(),
                rows, cols, heap ? "on the heap" : "in a direct buffer");
        try (ThreadTeam team = new ThreadTeam(1, "cpu-time")) {
            for (String typeName : args[2].split(",")) {
                GgmlType type = GgmlType.valueOf(typeName);
                WeightMatrix w = new WeightMatrix("bench", type, rows, cols,
                        RandomWeights.matrix(type, rows, cols, 42, true), null);
                if (heap) {
                    w = w.onHeap();
                }
                for (String t : args[3].split(",")) {
                    int tokens = Integer.parseInt(t);
                    float[] x = RandomWeights.gaussian(tokens * cols, 43);
                    float[] out = new float[tokens * rows];
                    long warm = System.nanoTime() + (long) (seconds * 0.5e9);
                    while (System.nanoTime() < warm) {
                        mm.apply(w, x, tokens, out, team);
                    }
                    double best = Double.MAX_VALUE;
                    for (int round = 0; round < 5; round++) {
                        long cpu = mx.getCurrentThreadCpuTime();
                        long end = System.nanoTime() + (long) (seconds * 0.1e9);
                        int calls = 0;
                        do {
                            mm.apply(w, x, tokens, out, team);
                            calls++;
                        } while (System.nanoTime() < end);
                        best = Math.min(best, (mx.getCurrentThreadCpuTime() - cpu) / 1e9 / calls);
                    }
                    System.out.printf(Locale.ROOT, "%-5s T=%-3d %9.3f ms  %6.2f GB/s  %7.2f GFLOP/s%n", typeName, tokens,
                            best * 1e3, w.byteSize() / best / 1e9, 2.0 * rows * cols * tokens / best / 1e9);
                }
            }
        }
    }
}
