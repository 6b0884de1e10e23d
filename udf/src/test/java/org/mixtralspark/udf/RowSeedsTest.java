package org.mixtralspark.udf;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class RowSeedsTest {

    @Test
    void dependsOnlyOnJobSeedAndRowId() {
        assertEquals(RowSeeds.derive(42, "row-1"), RowSeeds.derive(42, "row-1"));
        assertNotEquals(RowSeeds.derive(42, "row-1"), RowSeeds.derive(43, "row-1"));
        assertNotEquals(RowSeeds.derive(42, "row-1"), RowSeeds.derive(42, "row-2"));
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            seen.add(RowSeeds.derive(7, Integer.toString(i)));
        }
        assertEquals(10_000, seen.size());
    }
}
