package org.mixtralspark.engine.backend.cuda;

/**
 * How to open a CUDA engine.
 *
 * @param ordinal        the device, as CUDA numbers them after CUDA_VISIBLE_DEVICES (Spark's GPU address)
 * @param precision      bf16 (production) or f32 (debug: matches the CPU token for token)
 * @param kvCacheBytes   KV cache budget; 0 = what the engine can use (maxBatchSize full contexts) within free memory
 * @param maxBatchSize   most sequences in one step (sizes the automatic KV cache)
 * @param contextLength  longest sequence (sizes the automatic KV cache)
 * @param stepTokens     tokens of a step the step buffers are sized for (they grow if a step has more)
 * @param memoryBudget   device bytes the engine may use; 0 = free memory less a headroom
 * @param syncEachKernel synchronise after every launch, so a fault names its kernel (slow; for debugging)
 */
public record CudaOptions(int ordinal, Precision precision, long kvCacheBytes, int maxBatchSize, int contextLength,
                          int stepTokens, long memoryBudget, boolean syncEachKernel) {

    public CudaOptions {
        if (ordinal < 0) {
            throw new IllegalArgumentException("CUDA device ordinal = " + ordinal + ": must be >= 0");
        }
        if (precision == null) {
            throw new IllegalArgumentException("CUDA precision must be given (bf16 or f32)");
        }
        if (kvCacheBytes < 0 || memoryBudget < 0) {
            throw new IllegalArgumentException("KV cache bytes and memory budget must be >= 0 (0 = automatic)");
        }
        if (maxBatchSize < 1 || contextLength < 1 || stepTokens < 1) {
            throw new IllegalArgumentException("max batch size, context length and step tokens must be >= 1, got "
                    + maxBatchSize + ", " + contextLength + ", " + stepTokens);
        }
    }

    /** Defaults for device {@code ordinal}: bf16, automatic budgets, 512-token steps; debug flags from properties. */
    public static CudaOptions defaults(int ordinal, int maxBatchSize, int contextLength, long kvCacheBytes) {
        return new CudaOptions(ordinal, Precision.fromSystemProperty(), kvCacheBytes, maxBatchSize, contextLength,
                512, Long.getLong("mixtral.cuda.memoryBudget", 0L), Boolean.getBoolean("mixtral.cuda.sync"));
    }

    public CudaOptions withPrecision(Precision p) {
        return new CudaOptions(ordinal, p, kvCacheBytes, maxBatchSize, contextLength, stepTokens, memoryBudget,
                syncEachKernel);
    }

    public CudaOptions withStepTokens(int t) {
        return new CudaOptions(ordinal, precision, kvCacheBytes, maxBatchSize, contextLength, t, memoryBudget,
                syncEachKernel);
    }

    public CudaOptions withKvCacheBytes(long b) {
        return new CudaOptions(ordinal, precision, b, maxBatchSize, contextLength, stepTokens, memoryBudget,
                syncEachKernel);
    }

    public CudaOptions withSyncEachKernel(boolean s) {
        return new CudaOptions(ordinal, precision, kvCacheBytes, maxBatchSize, contextLength, stepTokens,
                memoryBudget, s);
    }
}
