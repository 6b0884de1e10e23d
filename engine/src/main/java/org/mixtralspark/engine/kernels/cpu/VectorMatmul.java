package org.mixtralspark.engine.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Matmul} on the Vector API: each weight row is decoded once into a per-thread scratch array, then dotted
 * with every token of the batch in three parts (vector body with four accumulators, lane reduction, scalar tail).
 * The species is picked once: the preferred one, or {@code -Dmixtral.vector.bits=128|256|512}; {@code 0} disables
 * the Vector API (then {@link Matmul#best()} takes the scalar path).
 */
public final class VectorMatmul implements Matmul {

    static final VectorSpecies<Float> SPECIES = pickSpecies();

    private final ThreadLocal<float[]> rowScratch = ThreadLocal.withInitial(() -> new float[0]);

    public static boolean isAvailable() {
        return SPECIES != null;
    }

    @Override
    public void apply(WeightMatrix w, float[] x, int tokens, float[] out, int outStride, ThreadTeam team) {
        int cols = w.cols();
        team.forRange(w.rows(), 8, (start, end) -> {
            float[] row = scratch(cols);
            for (int r = start; r < end; r++) {
                w.dequantizeRow(r, row, 0);
                for (int t = 0; t < tokens; t++) {
                    out[t * outStride + r] = dot(row, 0, x, t * cols, cols);
                }
            }
        });
    }

    /** {@code a[aOff..aOff+n) . b[bOff..bOff+n)} in fp32. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        VectorSpecies<Float> s = SPECIES;
        int width = s.length();
        FloatVector acc0 = FloatVector.zero(s);
        FloatVector acc1 = FloatVector.zero(s);
        FloatVector acc2 = FloatVector.zero(s);
        FloatVector acc3 = FloatVector.zero(s);
        int i = 0;
        for (int bound = n - 4 * width; i <= bound; i += 4 * width) {
            acc0 = FloatVector.fromArray(s, a, aOff + i).fma(FloatVector.fromArray(s, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(s, a, aOff + i + width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + width), acc1);
            acc2 = FloatVector.fromArray(s, a, aOff + i + 2 * width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + 2 * width), acc2);
            acc3 = FloatVector.fromArray(s, a, aOff + i + 3 * width)
                    .fma(FloatVector.fromArray(s, b, bOff + i + 3 * width), acc3);
        }
        for (int bound = n - width; i <= bound; i += width) {
            acc0 = FloatVector.fromArray(s, a, aOff + i).fma(FloatVector.fromArray(s, b, bOff + i), acc0);
        }
        float sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
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

    private static VectorSpecies<Float> pickSpecies() {
        String bits = System.getProperty("mixtral.vector.bits");
        try {
            if (bits == null) {
                VectorSpecies<Float> p = FloatVector.SPECIES_PREFERRED;
                return p.length() >= 4 ? p : null;
            }
            return switch (Integer.parseInt(bits.trim())) {
                case 0 -> null;
                case 128 -> FloatVector.SPECIES_128;
                case 256 -> FloatVector.SPECIES_256;
                case 512 -> FloatVector.SPECIES_512;
                default -> throw new IllegalArgumentException("mixtral.vector.bits = " + bits
                        + ": must be 0, 128, 256 or 512");
            };
        } catch (NoClassDefFoundError e) {
            return null; // jdk.incubator.vector not added to the module graph
        }
    }
}
