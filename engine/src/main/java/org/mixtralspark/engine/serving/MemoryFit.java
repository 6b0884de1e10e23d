package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;

import java.util.Locale;

/**
 * Whether a model can run on the CPU of a process with a given heap (and, under a cluster manager that limits the
 * whole process, a given allowance beyond the heap), decided before anything is loaded there: a job asks on the
 * driver so that a model that cannot fit fails before any task runs, naming the sizes, instead of each executor
 * dying of an {@link OutOfMemoryError} in turn.
 *
 * <p>What is compared, and why:
 * <ul>
 *   <li>the heap holds the KV cache (the CPU's paged cache is Java arrays) and, with {@code weightMemory = heap}, the
 *       copied weights; they must not exceed the heap. With {@code auto} the weights are copied only when they fit
 *       beside the KV cache and {@link Engines#HEAP_HEADROOM}, so only the KV cache is counted;</li>
 *   <li>mapped weights are pages of the model file, outside the heap. On a machine without a memory limit per
 *       process they live in the shared page cache and are not compared (the kernel pages them in and out). Where the
 *       cluster manager limits the process to heap + overhead (YARN and Kubernetes count resident file pages), every
 *       mapped weight is read within a few tokens, so they must fit in the overhead;</li>
 *   <li>on CUDA the weights and the cache live on the device, whose memory the driver cannot see: the executor's
 *       load checks that, and this class is not asked.</li>
 * </ul>
 *
 * @param heapWeightBytes   weights the engine copies onto the heap
 * @param mappedWeightBytes weights read from the mapped file
 * @param kvCacheBytes      the KV cache budget the engine allocates on the heap
 */
public record MemoryFit(long heapWeightBytes, long mappedWeightBytes, long kvCacheBytes) {

    /** The sizes {@link Engines} would use for {@code weights} with {@code options} in a JVM of {@code maxHeap}. */
    public static MemoryFit of(MixtralConfig config, MixtralWeights weights, EngineOptions options, long maxHeap) {
        long kv = Engines.kvBudget(config, options, maxHeap);
        long copy = weights.heapCopyBytes();
        boolean onHeap = switch (options.weightMemory()) {
            case "heap" -> true;
            case "auto" -> copy + kv + Engines.HEAP_HEADROOM <= maxHeap;
            default -> false;
        };
        long heapWeights = onHeap ? copy : 0;
        return new MemoryFit(heapWeights, weights.totalBytes() - heapWeights, kv);
    }

    /**
     * Why the heap cannot hold the engine, or null when it can.
     *
     * @param heapSource where {@code maxHeap} comes from, for the message (e.g. "spark.executor.memory = 4g")
     */
    public String heapProblem(long maxHeap, String heapSource) {
        if (heapWeightBytes + kvCacheBytes <= maxHeap) {
            return null;
        }
        return "the model does not fit in the executor's heap: " + size(heapWeightBytes) + " of weights copied to the "
                + "heap (--weight-memory heap) + " + size(kvCacheBytes) + " of KV cache = "
                + size(heapWeightBytes + kvCacheBytes) + " > " + size(maxHeap) + " of heap (" + heapSource + "); "
                + "use --weight-memory mapped or auto, a smaller --kv-cache-memory, or a larger heap";
    }

    /**
     * Why a process limited to heap + {@code overhead} cannot also hold the mapped weights, or null when it can.
     *
     * @param overheadSource where {@code overhead} comes from, for the message
     */
    public String containerProblem(long overhead, String overheadSource) {
        if (mappedWeightBytes <= overhead) {
            return null;
        }
        return "the model does not fit in the executor's container: " + size(mappedWeightBytes) + " of mapped weights "
                + "are resident in the executor's process beside its heap, but the container allows "
                + size(overhead) + " beyond the heap (" + overheadSource + "); raise spark.executor.memoryOverhead "
                + "to at least " + size(mappedWeightBytes + (512L << 20)) + " (the weights and 512 MiB for the rest)";
    }

    /** Bytes as people read them: "3.2 GiB (3435973837 bytes)". */
    static String size(long bytes) {
        String unit;
        double v;
        if (bytes >= 1L << 30) {
            unit = "GiB";
            v = bytes / (double) (1L << 30);
        } else {
            unit = "MiB";
            v = bytes / (double) (1L << 20);
        }
        return String.format(Locale.ROOT, "%.1f %s (%d bytes)", v, unit, bytes);
    }
}
