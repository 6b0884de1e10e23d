package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.WeightMatrix;

/** The reference {@link Matmul}: dequantise a row, then a plain sequential fp32 dot product per token. */
public final class ScalarMatmul implements Matmul {

    private final ThreadLocal<float[]> rowScratch = ThreadLocal.withInitial(() -> new float[0]);

    @Override
    public void apply(WeightMatrix w, float[] x, int tokens, float[] out, int outStride, ThreadTeam team) {
        int cols = w.cols();
        team.forRange(w.rows(), 16, (start, end) -> {
            float[] row = scratch(cols);
            for (int r = start; r < end; r++) {
                w.dequantizeRow(r, row, 0);
                for (int t = 0; t < tokens; t++) {
                    out[t * outStride + r] = dot(row, x, t * cols, cols);
                }
            }
        });
    }

    /** {@code a[0..n) . b[bOff..bOff+n)}, summed in order in fp32. */
    public static float dot(float[] a, float[] b, int bOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[i] * b[bOff + i];
        }
        return sum;
    }

    private float[] scratch(int n) {
        float[] s = rowScratch.get();
        if (s.length < n) {
            s = new float[n];
            rowScratch.set(s);
        }
        return s;
    }
}
