package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.RandomWeights;
import org.mixtralspark.engine.tensor.WeightMatrix;

import org.mixtralspark.engine.tensor.GgmlType;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * {@code out (T, rows) = x (T, cols) @ W^T} on a Mixtral-sized expert matrix (w1/w3: 14336x4096, w2: 4096x14336),
 * per weight type, batch and thread count. Besides the time per call, JMH prints two rates: {@code gbRead} (GB/s of
 * weight bytes streamed, to hold a GEMV against the ~33 GB/s STREAM roofline of DESIGN §5) and {@code gflop}
 * (GFLOP/s, 2 flops per weight per token). How to run: {@code src/jmh/README.md}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g"})
@State(Scope.Benchmark)
public class MatmulBenchmark {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    /** rows x cols */
    @Param({"14336x4096", "4096x14336"})
    public String shape;

    @Param({"1", "8", "32"})
    public int tokens;

    @Param({"1", "2"})
    public int threads;

    /** vector = {@link CpuMath#exact()} (the exact mode); native = {@link NativeMatmul} (the fast mode); scalar = the
     * reference */
    @Param({"vector"})
    public String impl;

    private WeightMatrix w;
    private float[] x;
    private float[] out;
    private ThreadTeam team;
    private Matmul matmul;

    /** Rates per second of the work done, reported next to the throughput. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double gbRead;
        public double gflop;
    }

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]);
        int cols = Integer.parseInt(rc[1]);
        w = new WeightMatrix("bench", t, rows, cols, RandomWeights.matrix(t, rows, cols, 42, true), null);
        x = RandomWeights.gaussian(tokens * cols, 43);
        out = new float[tokens * rows];
        team = new ThreadTeam(threads, "bench");
        matmul = switch (impl) {
            case "vector" -> CpuMath.exact();
            case "native" -> new NativeMatmul();
            case "scalar" -> new ScalarMatmul();
            default -> throw new IllegalArgumentException("impl = " + impl);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        team.close();
    }

    @Benchmark
    public float[] matmul(Rates rates) {
        matmul.apply(w, x, tokens, out, team);
        rates.gbRead += w.byteSize() * 1e-9;
        rates.gflop += 2.0 * w.rows() * w.cols() * tokens * 1e-9;
        return out;
    }
}
