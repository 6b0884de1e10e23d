package org.mixtralspark.udf;

import java.nio.charset.StandardCharsets;

/**
 * The sampling seed of one row, from the job seed and the row's id only, so that a row samples the same tokens
 * whatever partition, batch or task attempt it runs in. The one place the Spark side derives seeds.
 */
public final class RowSeeds {

    private RowSeeds() {
    }

    /**
     * The seed for row {@code rowId} (its string form) of a job seeded with {@code jobSeed}:
     * {@code splitMix64(splitMix64(jobSeed) ^ fnv1a64(utf8(rowId)))}.
     *
     * <p>TODO(sampling): call the engine's {@code Seeds.deriveSeed(jobSeed, rowId)} once main compiles with it (it
     * computes the same function), so that the CLI and the job share one definition.
     */
    public static long derive(long jobSeed, String rowId) {
        long h = 0xcbf29ce484222325L;
        for (byte b : rowId.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return splitMix64(splitMix64(jobSeed) ^ h);
    }

    private static long splitMix64(long x) {
        long z = x + 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
