package org.mixtralspark.engine.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Small vector operations of the forward pass outside the matrix products (attention's weighted sum of values). */
public final class VectorOps {

    private static final VectorSpecies<Float> SPECIES = VectorMatmul.SPECIES; // the same choice as the matmuls

    private VectorOps() {
    }

    /** {@code y[yOff..yOff+n) += a * x[xOff..xOff+n)}; scalar when the Vector API is off. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (SPECIES != null) {
            VectorSpecies<Float> s = SPECIES;
            FloatVector va = FloatVector.broadcast(s, a);
            for (int bound = n - s.length(); i <= bound; i += s.length()) {
                FloatVector.fromArray(s, x, xOff + i).fma(va, FloatVector.fromArray(s, y, yOff + i))
                        .intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }
}
