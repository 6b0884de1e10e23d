package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SeedsTest {

    @Test
    void fnv1a64MatchesThePublishedTestVectors() {
        // FNV-1a 64 of "" is the offset basis; of "a" it is 0xaf63dc4c8601ec8c (Fowler/Noll/Vo test suite)
        assertEquals(0xcbf29ce484222325L, Seeds.fnv1a64(new byte[0]));
        assertEquals(0xaf63dc4c8601ec8cL, Seeds.fnv1a64("a".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void deriveSeedIsPinnedToItsSpecifiedAlgorithm() {
        // computed by an independent (Python) implementation of splitMix64(splitMix64(job) ^ fnv1a64(utf8(id)))
        assertEquals(1375059912461085937L, Seeds.deriveSeed(42, "row-0"));
        assertEquals(185653698861789735L, Seeds.deriveSeed(42, "row-1"));
        assertEquals(6566800829925814604L, Seeds.deriveSeed(0, ""));
        assertEquals(2832971430034032922L, Seeds.deriveSeed(-1, "é🙂")); // UTF-8, not UTF-16 code units
    }

    @Test
    void deriveSeedDiffersAcrossIdsAndJobSeeds() {
        Set<Long> seen = new HashSet<>();
        for (long job = 0; job < 20; job++) {
            for (int row = 0; row < 500; row++) {
                seen.add(Seeds.deriveSeed(job, "row-" + row));
            }
        }
        assertEquals(20 * 500, seen.size(), "every (job seed, row id) pair gets its own seed");
        // String.hashCode collides on "Aa"/"BB"; the derived seeds must not
        assertEquals("Aa".hashCode(), "BB".hashCode());
        assertNotEquals(Seeds.deriveSeed(7, "Aa"), Seeds.deriveSeed(7, "BB"));
    }

    @Test
    void deriveSeedDependsOnlyOnItsArguments() {
        long first = Seeds.deriveSeed(99, "abc");
        Seeds.deriveSeed(1, "something else"); // no hidden state between calls
        assertEquals(first, Seeds.deriveSeed(99, new String("abc".toCharArray())));
    }

    @Test
    void deriveSeedRejectsANullId() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Seeds.deriveSeed(1, null));
        assertEquals(true, e.getMessage().contains("rowId"));
    }

    @Test
    void stepSeedIsTheStepthOutputOfASplitMix64Stream() {
        assertEquals(-8774268681488515761L, Seeds.stepSeed(7, 0));
        assertEquals(-2154039811576856741L, Seeds.stepSeed(7, 3));
        // the same as running a SplitMix64 generator from state mix64(seed) and taking output number `step`
        long state = Seeds.mix64(7);
        long out = 0;
        for (int i = 0; i <= 3; i++) {
            state += Seeds.GOLDEN_GAMMA;
            out = Seeds.mix64(state);
        }
        assertEquals(out, Seeds.stepSeed(7, 3));
        assertThrows(IllegalArgumentException.class, () -> Seeds.stepSeed(7, -1));
    }

    @Test
    void theJdkSplittableRandomStillImplementsSplitMix64() {
        // The sampler's coin is new SplittableRandom(stepSeed).nextDouble(). Its Javadoc only promises equal
        // sequences "in the same program"; this pins the algorithm, so a JDK that changed it fails here, not silently
        // in a job whose outputs no longer reproduce.
        for (long s : new long[] {0, 1, -1, 42, Long.MIN_VALUE, 0x123456789abcdefL}) {
            double expected = (Seeds.mix64(s + Seeds.GOLDEN_GAMMA) >>> 11) * 0x1.0p-53;
            assertEquals(expected, new SplittableRandom(s).nextDouble());
        }
    }

    @Test
    void sampleSeedKeepsSampleZeroAndIsPinnedToItsSpecifiedAlgorithm() {
        assertEquals(42L, Seeds.sampleSeed(42, 0), "sample 0 is the request's own seed: n changes no existing output");
        // computed by an independent (Python) implementation of mix64(mix64(seed) + i * 0xd1b54a32d192ed03)
        assertEquals(-4808161007672687233L, Seeds.sampleSeed(42, 1));
        assertEquals(9034345343107874802L, Seeds.sampleSeed(42, 2));
        assertEquals(1142913930897291854L, Seeds.sampleSeed(-1, 63));
        assertEquals(-9076525107929867504L, Seeds.sampleSeed(0, 1));
        assertThrows(IllegalArgumentException.class, () -> Seeds.sampleSeed(1, -1));
    }

    @Test
    void sampleSeedsDifferAcrossSamplesAndRowsAndFromTheStepStream() {
        Set<Long> seen = new HashSet<>();
        for (int row = 0; row < 200; row++) {
            long seed = Seeds.deriveSeed(5, "row-" + row);
            for (int i = 0; i < 64; i++) {
                seen.add(Seeds.sampleSeed(seed, i));
            }
        }
        assertEquals(200 * 64, seen.size(), "every (row, sample) pair gets its own seed");
        for (int i = 1; i < 64; i++) {
            assertNotEquals(Seeds.stepSeed(7, i - 1), Seeds.sampleSeed(7, i), "sample " + i + " is not a step's seed");
        }
    }
}
