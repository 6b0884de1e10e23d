package org.mixtralspark.engine.backend.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;

/**
 * One GPU opened for one engine: its primary context, made current on whichever thread calls {@link #bind()}
 * (the engine's step thread differs from the one that loaded the model), and our kernel modules loaded into it
 * with {@code cuModuleLoadData}. One engine per GPU: a second open of the same device in this JVM fails, naming it.
 */
public final class CudaDevice implements AutoCloseable {

    private static final Set<Integer> CLAIMED = ConcurrentHashMap.newKeySet();

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final long totalMemory;
    private boolean closed;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        int[] count = new int[1];
        JCudaDriver.cuDeviceGetCount(count);
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new IllegalArgumentException("cuda:" + ordinal + " does not exist: this machine has " + count[0]
                    + " CUDA device(s) (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
        }
        JCudaDriver.cuDeviceGet(device, ordinal);
        byte[] n = new byte[256];
        JCudaDriver.cuDeviceGetName(n, n.length, device);
        int len = 0;
        while (len < n.length && n[len] != 0) {
            len++;
        }
        this.name = new String(n, 0, len, StandardCharsets.US_ASCII);
        this.ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        if (ccMajor < 8) {
            throw new IllegalArgumentException("cuda:" + ordinal + " (" + name + ") has compute capability " + ccMajor
                    + "." + ccMinor + "; the kernels need 8.0 or newer (bf16 tensor cores, cp.async)");
        }
        long[] total = new long[1];
        JCudaDriver.cuDeviceTotalMem(total, device);
        this.totalMemory = total[0];
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        try {
            bind();
            for (KernelImages.Image image : KernelImages.load()) {
                CUmodule m = new CUmodule();
                JCudaDriver.cuModuleLoadData(m, image.bytes());
                modules.add(m);
            }
        } catch (RuntimeException e) {
            unload();
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /**
     * Opens device {@code ordinal} for one engine.
     *
     * @throws IllegalStateException    when CUDA is unavailable (with the probe's reason) or the device is taken
     * @throws IllegalArgumentException when the device does not exist or is older than compute capability 8.0
     */
    public static CudaDevice open(int ordinal) {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.available()) {
            throw new IllegalStateException("CUDA is unavailable: " + a.reason());
        }
        if (!CLAIMED.add(ordinal)) {
            throw new IllegalStateException("cuda:" + ordinal + " already runs an engine in this JVM: one engine per "
                    + "GPU (share that engine, or give this one another device)");
        }
        try {
            return new CudaDevice(ordinal);
        } catch (RuntimeException | Error e) {
            CLAIMED.remove(ordinal);
            throw e;
        }
    }

    /** Makes this device's context current on the calling thread. */
    public void bind() {
        cuCtxSetCurrent(context);
    }

    /** A kernel by name, looked up in our modules. */
    CUfunction function(String kernel) {
        return functions.computeIfAbsent(kernel, k -> {
            for (CUmodule m : modules) {
                CUfunction f = new CUfunction();
                try {
                    JCudaDriver.cuModuleGetFunction(f, m, k);
                    return f;
                } catch (RuntimeException notInThisModule) {
                    // CUDA_ERROR_NOT_FOUND: try the next module
                }
            }
            throw new IllegalStateException("kernel " + k + " is in none of the loaded modules " + moduleNames()
                    + ": the fatbins and this jar's classes are out of step; rebuild the engine");
        });
    }

    private String moduleNames() {
        List<String> names = new ArrayList<>();
        for (KernelImages.Image i : KernelImages.load()) {
            names.add(i.name());
        }
        return names.toString();
    }

    /** Waits for every launched kernel and copy on this device. */
    public void synchronize() {
        cuCtxSynchronize();
    }

    /** Free and total device memory now, in bytes. */
    public long[] memoryInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        JCudaDriver.cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    public int ordinal() {
        return ordinal;
    }

    /** E.g. "NVIDIA H200". */
    public String name() {
        return name;
    }

    /** E.g. "9.0". */
    public String computeCapability() {
        return ccMajor + "." + ccMinor;
    }

    /** Multiprocessors (for sizing grids). */
    public int multiprocessors() {
        return attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    }

    public long totalMemory() {
        return totalMemory;
    }

    /** "cuda:N". */
    public String label() {
        return "cuda:" + ordinal;
    }

    private int attribute(int attribute) {
        int[] v = new int[1];
        JCudaDriver.cuDeviceGetAttribute(v, attribute, device);
        return v[0];
    }

    private void unload() {
        for (CUmodule m : modules) {
            try {
                JCudaDriver.cuModuleUnload(m);
            } catch (RuntimeException ignored) {
                // closing: keep releasing the rest
            }
        }
        modules.clear();
        functions.clear();
    }

    /** Unloads the modules and releases the context; idempotent. Free the device buffers first. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            bind();
            unload();
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        } finally {
            CLAIMED.remove(ordinal);
        }
    }
}
