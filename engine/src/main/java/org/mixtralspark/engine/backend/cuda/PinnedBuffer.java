package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Page-locked host memory ({@code cuMemAllocHost}) for transfers: the step's inputs on the way in, logits on the way
 * out, weights while they are uploaded. The DMA engine reads and writes it directly, without the driver's staging
 * copy. Little-endian views, as the device's. Arrow buffers can wrap it (DESIGN §6 pinned Arrow-side transfers).
 */
public final class PinnedBuffer implements AutoCloseable {

    private final Pointer host = new Pointer();
    private final long bytes;
    private final ByteBuffer view;
    private boolean freed;

    public PinnedBuffer(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pinned buffer of " + bytes + " bytes: must be in (0, 2 GiB)");
        }
        JCudaDriver.cuMemAllocHost(host, bytes);
        this.bytes = bytes;
        this.view = host.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    public long bytes() {
        return bytes;
    }

    /** The memory as a little-endian buffer (position 0, limit = capacity); callers use absolute puts and gets. */
    public ByteBuffer buffer() {
        return view;
    }

    Pointer pointer() {
        return host;
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            JCudaDriver.cuMemFreeHost(host);
        }
    }
}
