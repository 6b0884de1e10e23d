package org.mixtralspark.udf;

import org.mixtralspark.engine.sampling.Seeds;

/**
 * The sampling seed of one row, from the job seed and the row's id only, so that a row samples the same tokens
 * whatever partition, batch or task attempt it runs in. The one place the Spark side derives seeds: the engine's
 * {@link Seeds#deriveSeed}, the function the CLI uses too, so {@code bin/mixtral generate --seed} and the job agree.
 */
public final class RowSeeds {

    private RowSeeds() {
    }

    /** The seed for row {@code rowId} (its string form) of a job seeded with {@code jobSeed}. */
    public static long derive(long jobSeed, String rowId) {
        return Seeds.deriveSeed(jobSeed, rowId);
    }
}
