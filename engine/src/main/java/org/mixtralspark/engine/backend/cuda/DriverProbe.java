package org.mixtralspark.engine.backend.cuda;

import jcuda.driver.JCudaDriver;

/**
 * The part of the probe that touches JCuda, in its own class so that a missing JCuda jar or driver surfaces as a
 * LinkageError when {@link #run()} is called, inside {@link CudaAvailability}'s try, and nowhere else.
 */
final class DriverProbe {

    record Result(int devices, String version) {
    }

    private DriverProbe() {
    }

    static Result run() {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        int[] v = new int[1];
        JCudaDriver.cuDriverGetVersion(v);
        int[] n = new int[1];
        JCudaDriver.cuDeviceGetCount(n);
        return new Result(n[0], v[0] / 1000 + "." + (v[0] % 1000) / 10);
    }
}
