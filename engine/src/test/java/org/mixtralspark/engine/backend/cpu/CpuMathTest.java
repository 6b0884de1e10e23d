package org.mixtralspark.engine.backend.cpu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The numeric mode: parsing, the system property's override of the engine option, and what each mode runs. Holds in
 * both CI runs: with the native library loaded (fast = {@link NativeMatmul}) and with {@code -Dmixtral.native=false}
 * (fast = the Java kernels, and the description says why).
 */
class CpuMathTest {

    @AfterEach
    void clearProperty() {
        System.clearProperty(CpuMath.PROPERTY);
    }

    @Test
    void modesParseInAnyCaseAndABadValueNamesTheSetting() {
        assertEquals(CpuMath.Mode.FAST, CpuMath.Mode.parse(" Fast "));
        assertEquals(CpuMath.Mode.EXACT, CpuMath.Mode.parse("EXACT", "--cpu-math"));
        assertEquals("fast", CpuMath.Mode.FAST.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuMath.Mode.parse("quick"));
        assertTrue(e.getMessage().contains("-Dmixtral.cpu.math = quick"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CpuMath.Mode.parse(null, "--cpu-math"));
        assertTrue(e.getMessage().startsWith("--cpu-math = null"), e.getMessage());
    }

    @Test
    void theSystemPropertyOverridesTheEngineOption() {
        assertNull(CpuMath.fromSystemProperty(), "the tests run without -Dmixtral.cpu.math");
        assertEquals(CpuMath.Mode.FAST, CpuMath.resolve("fast"));
        assertEquals(CpuMath.Mode.EXACT, CpuMath.resolve("exact"));
        System.setProperty(CpuMath.PROPERTY, "exact");
        assertEquals(CpuMath.Mode.EXACT, CpuMath.resolve("fast"));
        System.setProperty(CpuMath.PROPERTY, "fast");
        assertEquals(CpuMath.Mode.FAST, CpuMath.resolve("exact"));
        System.setProperty(CpuMath.PROPERTY, "sloppy");
        assertThrows(IllegalArgumentException.class, () -> CpuMath.resolve("exact"));
        System.setProperty(CpuMath.PROPERTY, " ");
        assertEquals(CpuMath.Mode.EXACT, CpuMath.resolve("exact"), "a blank property is unset");
        assertThrows(IllegalArgumentException.class, () -> CpuMath.resolve("auto"));
    }

    @Test
    void exactRunsTheVectorApiKernels() {
        CpuMath.Selection s = CpuMath.select(CpuMath.Mode.EXACT);
        assertSame(CpuMath.Mode.EXACT, s.mode());
        assertInstanceOf(VectorMatmul.class, s.matmul(), "the tests run with the Vector API");
        assertEquals("Vector API kernels", s.kernels());
    }

    @Test
    void fastRunsTheNativeKernelsWhereTheyLoadElseTheJavaOnesAndSaysWhy() {
        CpuMath.Selection s = CpuMath.select(CpuMath.Mode.FAST);
        assertSame(CpuMath.Mode.FAST, s.mode());
        if (NativeKernels.isAvailable()) {
            NativeMatmul m = assertInstanceOf(NativeMatmul.class, s.matmul());
            assertEquals(NativeKernels.variant(), m.variant());
            assertTrue(s.kernels().startsWith("native CPU kernels: " + NativeKernels.variant() + " ("), s.kernels());
            assertTrue(s.kernels().contains(NativeKernels.coverage()), s.kernels());
        } else {
            assertInstanceOf(VectorMatmul.class, s.matmul());
            assertEquals("Vector API kernels (native library: " + NativeKernels.reasonUnavailable() + ")",
                    s.kernels());
        }
        if ("false".equals(System.getProperty("mixtral.native"))) {
            assertEquals("disabled by -Dmixtral.native=false", NativeKernels.reasonUnavailable());
        }
    }
}
