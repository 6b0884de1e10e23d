package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe never throws; without a driver it says so, and opening a device fails with that reason. */
class CudaAvailabilityTest {

    static boolean driverAbsent() {
        return !Files.exists(Path.of("/dev/nvidiactl")) && !Files.exists(Path.of("/dev/nvidia0"));
    }

    @Test
    void theProbeAnswersWithAReasonAndIsCached() {
        CudaAvailability a = CudaAvailability.probe();
        assertTrue(a == CudaAvailability.probe(), "computed once per JVM");
        if (a.available()) {
            assertNull(a.reason());
            assertTrue(a.devices() > 0);
            assertTrue(a.describe().startsWith("CUDA available: "), a.describe());
        } else {
            assertNotNull(a.reason());
            assertFalse(a.reason().isBlank());
            assertTrue(a.describe().startsWith("CUDA unavailable: "), a.describe());
        }
    }

    @Test
    void withoutADriverTheReasonSaysSoAndNamesTheLibrary() {
        GpuAssumptions.require(driverAbsent(), "this machine has an NVIDIA device node");
        CudaAvailability a = CudaAvailability.probeNow();
        assertFalse(a.available());
        assertEquals(0, a.devices());
        assertTrue(a.reason().startsWith("the NVIDIA driver could not be loaded ("), a.reason());
        assertFalse(a.reason().contains("\n"), "one line: " + a.reason());
        assertTrue(a.reason().contains("libcuda.so.1"), a.reason());
    }

    @Test
    void openingADeviceWithoutCudaFailsWithTheProbesReason() {
        GpuAssumptions.requireNoCuda();
        CudaAvailability a = CudaAvailability.probe();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaDevice.open(0));
        assertEquals("CUDA is unavailable: " + a.reason(), e.getMessage());
    }
}
