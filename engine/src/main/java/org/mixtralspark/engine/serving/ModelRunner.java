package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.mixtral.SequenceKv;

/**
 * The backend under the engine: runs one forward step of a batch on some device. The CPU implementation is
 * {@link CpuModelRunner}.
 */
interface ModelRunner extends AutoCloseable {

    MixtralConfig config();

    /** "cpu" or "cuda:N". */
    String device();

    /** A new, empty KV cache for a sequence of at most {@code maxPositions} positions. */
    SequenceKv newCache(int maxPositions);

    /** See {@link org.mixtralspark.engine.model.mixtral.BatchForward#forward}. */
    float[] forward(int[] tokens, int[] positions, SequenceKv[] caches, int[] logitRows);

    @Override
    void close();
}
