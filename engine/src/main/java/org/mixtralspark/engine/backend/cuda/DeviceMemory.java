package org.mixtralspark.engine.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every device allocation of one engine, against a budget (Arrow's allocator pattern: named buffers, a limit, and a
 * close that frees what is left and says so). Not thread-safe: the engine's step thread owns it.
 */
public final class DeviceMemory implements AutoCloseable {

    private final String device;
    private final long budget;
    private final Set<DeviceBuffer> live = new LinkedHashSet<>();
    private long used;
    private long peak;

    /**
     * @param device a label for messages ("cuda:0")
     * @param budget bytes this engine may allocate
     */
    public DeviceMemory(String device, long budget) {
        this.device = device;
        this.budget = budget;
    }

    /**
     * Allocates {@code bytes} (at least 256) named {@code name}.
     *
     * @throws IllegalStateException naming the buffer and the sizes when the budget or the device is exhausted
     */
    public DeviceBuffer allocate(String name, long bytes) {
        long size = Math.max(256, (bytes + 255) & ~255L);
        if (used + size > budget) {
            throw new IllegalStateException(device + ": cannot allocate " + name + " (" + Bytes.format(size) + "): "
                    + Bytes.format(used) + " of this engine's budget of " + Bytes.format(budget)
                    + " are in use; lower the KV cache budget or the step size, or use a larger GPU");
        }
        CUdeviceptr p = new CUdeviceptr();
        try {
            JCudaDriver.cuMemAlloc(p, size);
        } catch (RuntimeException e) {
            throw new IllegalStateException(device + ": cuMemAlloc of " + name + " (" + Bytes.format(size)
                    + ") failed with " + Bytes.format(used) + " allocated by this engine: " + e.getMessage(), e);
        }
        DeviceBuffer b = new DeviceBuffer(this, name, size, p);
        live.add(b);
        used += size;
        peak = Math.max(peak, used);
        return b;
    }

    void released(DeviceBuffer b) {
        if (live.remove(b)) {
            used -= b.bytes();
        }
    }

    /** Bytes allocated now. */
    public long used() {
        return used;
    }

    /** Most bytes allocated at once. */
    public long peak() {
        return peak;
    }

    public long budget() {
        return budget;
    }

    /** Names of the buffers not yet freed (a test's leak check). */
    public List<String> liveBuffers() {
        List<String> out = new ArrayList<>();
        for (DeviceBuffer b : live) {
            out.add(b.name());
        }
        return out;
    }

    /** Frees every buffer still allocated, newest first; idempotent. */
    @Override
    public void close() {
        List<DeviceBuffer> all = new ArrayList<>(live);
        RuntimeException first = null;
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
