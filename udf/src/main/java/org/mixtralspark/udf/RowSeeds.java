package org.mixtralspark.udf;

import java.nio.charset.StandardCharsets;

/**
 * The sampling seed of one row, from the job seed and the row's id only, so that a row samples the same tokens
 * whatever partition, batch or task attempt it runs in.
 */
public final class RowSeeds {

    private RowSeeds() {
    }

    /**
     * The seed for row {@code rowId} of a job seeded with {@code jobSeed}.
     *
     * <p>TODO(sampling): call {@code SequenceSampler.deriveSeed(jobSeed, rowId)} once branch {@code sampling} is merged,
     * so the CLI and the job derive seeds the same way. Until then: SplitMix64 over the id's UTF-8 bytes.
     */
    public static long derive(long jobSeed, String rowId) {
        long h = mix(jobSeed ^ 0x6A09E667F3BCC909L);
        for (byte b : rowId.getBytes(StandardCharsets.UTF_8)) {
            h = mix(h ^ (b & 0xFF));
        }
        return mix(h ^ rowId.length());
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
