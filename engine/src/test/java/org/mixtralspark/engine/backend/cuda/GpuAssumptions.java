package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Assumptions;

/**
 * GPU tests skip, saying why, where there is no usable CUDA device (CI, the development machines). On the GPU machine
 * scripts/gpu-check.sh sets {@code -Dmixtral.gpu.required=true}, and there a missing device fails instead.
 */
public final class GpuAssumptions {

    private GpuAssumptions() {
    }

    public static void requireCuda() {
        CudaAvailability a = CudaAvailability.probe();
        if (Boolean.getBoolean("mixtral.gpu.required") && !a.available()) {
            throw new IllegalStateException("a CUDA device is required here (-Dmixtral.gpu.required): " + a.reason());
        }
        Assumptions.assumeTrue(a.available(), "SKIPPED: no CUDA device: " + a.reason());
    }
}
