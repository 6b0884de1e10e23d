package org.mixtralspark.engine.io;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** For the hostile-file tests of both formats: a refusal must be cheap, whatever the file claims. */
public final class FailsCheaply {

    private FailsCheaply() {
    }

    /** Runs {@code check} after a warm-up, and asserts it took under a second and allocated under 16 MiB. */
    public static void assertFastAndSmall(Runnable check) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        check.run(); // class loading and JIT out of the way
        long allocated = mx.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        check.run();
        long nanos = System.nanoTime() - start;
        allocated = mx.getCurrentThreadAllocatedBytes() - allocated;
        assertTrue(nanos < 1_000_000_000L, "took " + nanos / 1_000_000 + " ms");
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");
    }
}
