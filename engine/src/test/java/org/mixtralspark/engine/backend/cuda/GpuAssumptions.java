package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Assumptions;

/**
 * The skips that depend on the machine's GPU side: a CUDA device, its driver, nvcc. Each is a JUnit assumption (the
 * test is reported as skipped, never as passed) whose message starts with {@value #PREFIX}; {@code .ci/check-skips}
 * lets exactly those skip and fails CI on any other skipped test. GPU tests skip where there is no usable CUDA device
 * (CI, the development machines). On the GPU machine scripts/gpu-check.sh sets {@code -Dmixtral.gpu.required=true},
 * and there a missing device fails instead.
 */
public final class GpuAssumptions {

    /** The start of every GPU-dependent skip message (.ci/check-skips allows these). */
    public static final String PREFIX = "gpu: ";

    private GpuAssumptions() {
    }

    /** Skips without a usable CUDA device (fails instead under -Dmixtral.gpu.required=true). */
    public static void requireCuda() {
        CudaAvailability a = CudaAvailability.probe();
        if (Boolean.getBoolean("mixtral.gpu.required") && !a.available()) {
            throw new IllegalStateException("a CUDA device is required here (-Dmixtral.gpu.required): " + a.reason());
        }
        Assumptions.assumeTrue(a.available(), () -> PREFIX + "no CUDA device: " + a.reason());
    }

    /** For the checks of the CPU-only path: skips where CUDA is available. */
    public static void requireNoCuda() {
        Assumptions.assumeFalse(CudaAvailability.probe().available(), PREFIX + "CUDA is available here");
    }

    /** Skips unless {@code condition} holds; {@code reason} says what about the GPU side is missing or present. */
    public static void require(boolean condition, String reason) {
        Assumptions.assumeTrue(condition, () -> PREFIX + reason);
    }
}
