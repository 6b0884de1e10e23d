package org.mixtralspark.engine.backend.cuda;

/**
 * How an engine's device memory is split between weights, step buffers and the KV cache, decided before anything is
 * allocated, so that a model that does not fit gets one message naming every size instead of a failed cuMemAlloc
 * half-way through the upload.
 *
 * @param budget      bytes the engine may allocate
 * @param weightBytes weights in the chosen precision
 * @param stepBytes   step buffers
 * @param kvBytes     KV cache
 * @param kvBlocks    KV cache blocks
 */
record MemoryBudget(long budget, long weightBytes, long stepBytes, long kvBytes, int kvBlocks) {

    /** Left free for the CUDA context, the modules and fragmentation: 512 MiB or 2 % of the card. */
    static long headroom(long total) {
        return Math.max(512L << 20, total / 50);
    }

    /**
     * @param what          the model and precision, for the message ("mini-mistral (bf16)")
     * @param device        "cuda:0 (NVIDIA H200)"
     * @param free          free device memory now
     * @param total         the device's memory
     * @param budgetBytes   the engine's budget; 0 = free less the headroom
     * @param weightBytes   bytes of the weights
     * @param stepBytes     bytes of the step buffers
     * @param bytesPerBlock KV bytes of one block (all layers)
     * @param blockSize     positions per block
     * @param minKvBlocks   blocks the cache must at least have
     * @param requestedKv   the KV budget asked for; 0 = automatic: {@code wantedKv} or what is left, the lesser
     * @param wantedKv      KV bytes the engine could use (max batch x context)
     * @throws IllegalArgumentException naming every size when the model or the requested KV cache does not fit
     */
    static MemoryBudget plan(String what, String device, long free, long total, long budgetBytes, long weightBytes,
                             long stepBytes, long bytesPerBlock, int blockSize, int minKvBlocks, long requestedKv,
                             long wantedKv) {
        long budget = budgetBytes > 0 ? budgetBytes : free - headroom(total);
        String budgetText = budgetBytes > 0 ? "the budget is " + Bytes.format(budget)
                : "the budget is " + Bytes.format(Math.max(0, budget)) + " (" + Bytes.format(free) + " free of "
                + Bytes.format(total) + ", less " + Bytes.format(headroom(total)) + " headroom)";
        long minKv = minKvBlocks * bytesPerBlock;
        long need = weightBytes + stepBytes + minKv;
        if (need > budget) {
            throw new IllegalArgumentException(what + " does not fit on " + device + ": weights "
                    + Bytes.format(weightBytes) + " + step buffers " + Bytes.format(stepBytes) + " + KV cache at least "
                    + Bytes.format(minKv) + " (" + minKvBlocks + " blocks of " + blockSize + " positions) = "
                    + Bytes.format(need) + ", but " + budgetText + ". Use a smaller model, --device cpu, or a GPU "
                    + "with more memory");
        }
        long available = budget - weightBytes - stepBytes;
        long kv;
        if (requestedKv > 0) {
            if (requestedKv > available) {
                throw new IllegalArgumentException("a KV cache of " + Bytes.format(requestedKv) + " does not fit on "
                        + device + ": " + what + " takes " + Bytes.format(weightBytes) + " of weights and "
                        + Bytes.format(stepBytes) + " of step buffers, leaving " + Bytes.format(available)
                        + " of " + budgetText + "; ask for at most that");
            }
            kv = requestedKv;
        } else {
            kv = Math.max(minKv, Math.min(available, wantedKv));
        }
        long blocks = Math.max(1, Math.min(Integer.MAX_VALUE, kv / bytesPerBlock));
        return new MemoryBudget(budget, weightBytes, stepBytes, blocks * bytesPerBlock, (int) blocks);
    }
}
