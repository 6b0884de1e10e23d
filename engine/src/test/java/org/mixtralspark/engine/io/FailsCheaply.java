package org.mixtralspark.engine.io;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * For the hostile-file tests of both formats: a refusal must be cheap, whatever the file claims. Cheap is measured by
 * what the refusal allocates, which does not depend on the machine's speed or load: a reader that believed a claimed
 * count or length (a trillion keys, a 1 TiB string) would allocate for it before noticing. Tests never time anything
 * (DESIGN §8); a reader that looped over a claimed count without allocating would show as a test that does not end.
 */
public final class FailsCheaply {

    private FailsCheaply() {
    }

    /** Runs {@code check} after a warm-up, and asserts that the second run allocated under 16 MiB. */
    public static void assertAllocatesLittle(Runnable check) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        check.run(); // class loading and JIT out of the way
        long allocated = mx.getCurrentThreadAllocatedBytes();
        check.run();
        allocated = mx.getCurrentThreadAllocatedBytes() - allocated;
        assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");
    }
}
