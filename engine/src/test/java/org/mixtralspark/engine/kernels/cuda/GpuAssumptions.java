package org.mixtralspark.engine.kernels.cuda;

import org.junit.jupiter.api.Assumptions;

/** GPU tests skip, saying why, where there is no usable CUDA device (CI, the development machines). */
final class GpuAssumptions {

    private GpuAssumptions() {
    }

    static void requireCuda() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), "SKIPPED: no CUDA device: " + a.reason());
    }
}
