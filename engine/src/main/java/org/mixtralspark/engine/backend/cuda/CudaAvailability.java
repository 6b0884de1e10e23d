package org.mixtralspark.engine.backend.cuda;

/**
 * Whether this JVM can run the CUDA backend, and if not, why: the kernels must be in the build, JCuda's JNI library
 * and the NVIDIA driver ({@code libcuda.so.1}) must load, {@code cuInit} must succeed and see a device. The probe
 * never throws: a machine without a driver gets a reason, not a crash. Computed once per JVM.
 *
 * @param available whether a CUDA engine can be opened
 * @param reason    why not (null when available)
 * @param devices   CUDA devices visible (0 when the driver is not there)
 * @param driver    the driver's CUDA version, e.g. "13.0", or null
 */
public record CudaAvailability(boolean available, String reason, int devices, String driver) {

    private static volatile CudaAvailability cached;

    /** The cached probe of this JVM. */
    public static CudaAvailability probe() {
        CudaAvailability c = cached;
        if (c == null) {
            synchronized (CudaAvailability.class) {
                c = cached;
                if (c == null) {
                    c = probeNow();
                    cached = c;
                }
            }
        }
        return c;
    }

    static CudaAvailability probeNow() {
        String kernels = KernelImages.missingReason();
        String driverProblem;
        int devices = 0;
        String version = null;
        try {
            DriverProbe.Result r = DriverProbe.run();
            devices = r.devices();
            version = r.version();
            driverProblem = devices == 0 ? "the NVIDIA driver (CUDA " + version + ") sees no CUDA device" : null;
        } catch (LinkageError e) {
            // UnsatisfiedLinkError from JCuda's JNI library (it links libcuda.so.1), NoClassDefFoundError when the
            // JCuda jar is not on the class path
            boolean noJcuda = e instanceof NoClassDefFoundError && !String.valueOf(e.getMessage())
                    .startsWith("Could not initialize");
            driverProblem = noJcuda ? "JCuda is not on the class path (" + e + ")"
                    : "the NVIDIA driver could not be loaded (" + concise(e) + "): is there an NVIDIA driver "
                    + "(libcuda.so.1) on this machine?";
        } catch (RuntimeException e) {
            // jcuda.CudaException from cuInit, e.g. CUDA_ERROR_NO_DEVICE or CUDA_ERROR_INSUFFICIENT_DRIVER
            driverProblem = "cuInit failed: " + e.getMessage();
        }
        if (driverProblem == null && kernels == null) {
            return new CudaAvailability(true, null, devices, version);
        }
        String reason = driverProblem != null && kernels != null ? driverProblem + "; and " + kernels
                : driverProblem != null ? driverProblem : kernels;
        return new CudaAvailability(false, reason, devices, version);
    }

    /**
     * The line of a JNI load failure that names the missing library (JCuda's message nests whole stack traces), e.g.
     * "libcuda.so.1: cannot open shared object file: No such file or directory".
     */
    static String concise(Throwable e) {
        String m = String.valueOf(e.getMessage());
        for (String line : m.split("\n")) {
            int at = line.indexOf("libcuda");
            if (at >= 0) {
                return line.substring(at).trim();
            }
        }
        String first = m.split("\n", 2)[0].trim();
        return e.getClass().getSimpleName() + ": " + first;
    }

    /** "CUDA available: N device(s), driver X" or "CUDA unavailable: reason". */
    public String describe() {
        return available ? "CUDA available: " + devices + " device(s), driver CUDA " + driver
                : "CUDA unavailable: " + reason;
    }
}
