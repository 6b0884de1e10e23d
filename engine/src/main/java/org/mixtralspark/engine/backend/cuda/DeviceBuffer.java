package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** One device allocation ({@code cuMemAlloc}), owned by a {@link DeviceMemory}; closing it frees it. */
public final class DeviceBuffer implements AutoCloseable {

    private final DeviceMemory owner;
    private final String name;
    private final long bytes;
    private final CUdeviceptr ptr;
    private boolean freed;

    DeviceBuffer(DeviceMemory owner, String name, long bytes, CUdeviceptr ptr) {
        this.owner = owner;
        this.name = name;
        this.bytes = bytes;
        this.ptr = ptr;
    }

    public String name() {
        return name;
    }

    public long bytes() {
        return bytes;
    }

    /** The device address (for kernel arguments and copies). */
    CUdeviceptr ptr() {
        checkLive();
        return ptr;
    }

    /** The device address {@code byteOffset} bytes in. */
    CUdeviceptr at(long byteOffset) {
        checkRange(byteOffset, 0);
        return byteOffset == 0 ? ptr : ptr.withByteOffset(byteOffset);
    }

    /** Copies {@code count} bytes from host memory (pinned or a Java array's Pointer) to {@code byteOffset}. */
    void copyFromHost(Pointer host, long byteOffset, long count) {
        checkRange(byteOffset, count);
        JCudaDriver.cuMemcpyHtoD(at(byteOffset), host, count);
    }

    /** Copies {@code count} bytes from {@code byteOffset} to host memory. */
    void copyToHost(Pointer host, long byteOffset, long count) {
        checkRange(byteOffset, count);
        JCudaDriver.cuMemcpyDtoH(host, at(byteOffset), count);
    }

    private void checkRange(long offset, long count) {
        checkLive();
        if (offset < 0 || count < 0 || offset + count > bytes) {
            throw new IndexOutOfBoundsException(name + ": bytes [" + offset + ", +" + count + ") outside " + bytes);
        }
    }

    private void checkLive() {
        if (freed) {
            throw new IllegalStateException(name + ": used after it was freed");
        }
    }

    boolean isFreed() {
        return freed;
    }

    /** Frees the memory; idempotent. */
    @Override
    public void close() {
        if (!freed) {
            freed = true;
            try {
                JCudaDriver.cuMemFree(ptr);
            } finally {
                owner.released(this);
            }
        }
    }
}
