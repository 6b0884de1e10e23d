package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ThreadTeamTest {

    @Test
    void everyIndexRunsExactlyOnceAcrossManyLoops() {
        try (ThreadTeam team = new ThreadTeam(3, "test")) {
            for (int n : new int[] {1, 2, 7, 64, 1000, 4097}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                for (int round = 0; round < 20; round++) {
                    team.forRange(n, 1, (s, e) -> {
                        for (int i = s; i < e; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(20, hits.get(i), "index " + i + " of " + n);
                }
            }
        }
    }

    @Test
    void anExceptionInAWorkerReachesTheCaller() {
        try (ThreadTeam team = new ThreadTeam(2, "test")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.forRange(100, 1, (s, en) -> {
                if (s > 0) {
                    throw new IllegalStateException("boom at " + s);
                }
            }));
            assertEquals(true, e.getMessage().startsWith("boom"));
            // the team is still usable afterwards
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            team.forRange(10, 1, (s, en) -> {
                for (int i = s; i < en; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < 10; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }
}
