package org.mixtralspark.engine.backend.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The paged KV cache on the device: per layer, a key and a value buffer of {@code totalBlocks x blockSize} slots of
 * {@code kvDim} values (RoPE'd keys, values) in the precision's type. Slot {@code s} of block {@code b} is row
 * {@code b * blockSize + s}, as in the CPU's PagedKvCache; the scheduler hands
 * blocks out through the same {@link BlockAllocator}.
 */
final class DeviceKvCache implements AutoCloseable {

    final int blockSize;
    final int totalBlocks;
    final BlockAllocator allocator;
    final DeviceBuffer[] keys;   // per layer (totalBlocks * blockSize, kvDim)
    final DeviceBuffer[] values; // per layer (totalBlocks * blockSize, kvDim)
    private final long bytes;

    DeviceKvCache(MixtralConfig c, Precision p, int totalBlocks, int blockSize, DeviceMemory mem) {
        this.blockSize = blockSize;
        this.totalBlocks = totalBlocks;
        this.allocator = new BlockAllocator(totalBlocks, blockSize);
        this.keys = new DeviceBuffer[c.layers()];
        this.values = new DeviceBuffer[c.layers()];
        long perLayer = (long) totalBlocks * blockSize * c.kvDim() * p.bytes;
        this.bytes = 2 * perLayer * c.layers();
        for (int l = 0; l < c.layers(); l++) {
            keys[l] = mem.allocate("blk." + l + ".k_cache", perLayer);
            values[l] = mem.allocate("blk." + l + ".v_cache", perLayer);
        }
    }

    /** Bytes of one block over every layer, keys and values. */
    static long bytesPerBlock(MixtralConfig c, Precision p, int blockSize) {
        return 2L * c.layers() * blockSize * c.kvDim() * p.bytes;
    }

    /** Copies every layer's keys and values of block {@code from} into block {@code to} (copy-on-write), on the device. */
    void copyBlock(int from, int to) {
        long n = bytes / (2L * keys.length * totalBlocks);
        for (int l = 0; l < keys.length; l++) {
            checkCuda(JCudaDriver.cuMemcpyDtoD(keys[l].at(to * n), keys[l].at(from * n), n), "copy of a key block");
            checkCuda(JCudaDriver.cuMemcpyDtoD(values[l].at(to * n), values[l].at(from * n), n),
                    "copy of a value block");
        }
    }

    private static void checkCuda(int result, String what) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException(what + " failed: " + CUresult.stringFor(result));
        }
    }

    /** Bytes of the whole cache. */
    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        for (int l = keys.length - 1; l >= 0; l--) {
            values[l].close();
            keys[l].close();
        }
    }
}
