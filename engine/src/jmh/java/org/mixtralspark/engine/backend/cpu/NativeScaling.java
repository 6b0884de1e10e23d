package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.util.Locale;

/**
 * The two-thread question of issue 14 (through JNI, two threads did not scale past about 32 GB/s on a Q8_0 GEMV while
 * a C driver reached 58): one-token products on a {@code rows x cols} matrix through {@link NativeMatmul} with a team
 * of 1 and of 2 threads, weights in a direct buffer (small pages, as a mapped file) and copied to the heap (huge pages
 * under {@code -XX:+UseTransparentHugePages}). Wall time, best of many short calls, so that a call the scheduler
 * interrupted does not count; on a busy machine the best call is still slower than on a quiet one.
 *
 * <p>Usage: {@code NativeScaling rows cols TYPE[,TYPE..] [calls]}. Command: src/jmh/README.md.
 */
public final class NativeScaling {

    private NativeScaling() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: NativeScaling rows cols TYPE[,TYPE..] [calls]");
            return;
        }
        int rows = Integer.parseInt(args[0]);
        int cols = Integer.parseInt(args[1]);
        int calls = args.length > 3 ? Integer.parseInt(args[3]) : 300;
        NativeMatmul mm = new NativeMatmul();
        System.out.printf(Locale.ROOT, "NativeMatmul %s, %dx%d, T=1, wall time, best of %d calls%n", mm.variant(),
                rows, cols, calls);
        for (String typeName : args[2].split(",")) {
            GgmlType type = GgmlType.valueOf(typeName);
            WeightMatrix direct = new WeightMatrix("bench", type, rows, cols,
                    RandomWeights.matrix(type, rows, cols, 42, true), null);
            WeightMatrix heap = direct.onHeap();
            float[] x = RandomWeights.gaussian(cols, 43);
            float[] out = new float[rows];
            for (WeightMatrix w : new WeightMatrix[] {direct, heap}) {
                for (int threads : new int[] {1, 2}) {
                    try (ThreadTeam team = new ThreadTeam(threads, "scaling")) {
                        for (int i = 0; i < 20; i++) {
                            mm.apply(w, x, 1, out, team);
                        }
                        long best = Long.MAX_VALUE;
                        for (int i = 0; i < calls; i++) {
                            long t0 = System.nanoTime();
                            mm.apply(w, x, 1, out, team);
                            best = Math.min(best, System.nanoTime() - t0);
                        }
                        System.out.printf(Locale.ROOT, "%-5s %-6s %d thread(s): best %7.3f ms  %6.2f GB/s%n",
                                typeName, w.isOnHeap() ? "heap" : "direct", threads, best / 1e6,
                                w.byteSize() / (double) best);
                    }
                }
            }
        }
    }
}
