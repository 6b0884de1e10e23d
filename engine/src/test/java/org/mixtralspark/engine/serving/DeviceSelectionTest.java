package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.backend.cuda.CudaAvailability;
import org.mixtralspark.engine.backend.cuda.GpuAssumptions;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --device: cpu always; cuda fails with the probe's reason where there is no CUDA; auto falls back to the CPU. */
class DeviceSelectionTest {

    @Test
    void deviceOptionAcceptsCudaWithAnOrdinal() {
        assertDoesNotThrow(() -> EngineOptions.defaults().withDevice("cuda:3"));
        for (String bad : new String[] {"gpu", "cuda:", "cuda:x", "cuda:-1", "CUDA"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> EngineOptions.defaults().withDevice(bad));
            assertEquals("device = " + bad + ": must be auto, cpu, cuda or cuda:N", e.getMessage());
        }
    }

    @Test
    void cpuIsAlwaysTheCpu() {
        assertEquals("cpu", Engines.selectDevice("cpu"));
    }

    @Test
    void withoutCudaAutoTakesTheCpuAndCudaFailsNamingTheReason() {
        CudaAvailability a = CudaAvailability.probe();
        if (a.available()) {
            assertEquals("cuda:0", Engines.selectDevice("auto"));
            assertEquals("cuda:0", Engines.selectDevice("cuda"));
            assertEquals("cuda:1", Engines.selectDevice("cuda:1"));
            return;
        }
        assertEquals("cpu", Engines.selectDevice("auto"));
        for (String d : new String[] {"cuda", "cuda:1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engines.selectDevice(d));
            assertEquals("device = " + d + ": CUDA unavailable: " + a.reason() + "; use --device cpu or auto",
                    e.getMessage());
        }
    }

    @Test
    void openingAnEngineOnCudaWithoutCudaFailsBeforeLoadingAnything() {
        GpuAssumptions.requireNoCuda();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engines.open(
                Path.of("/nonexistent/model.gguf"), EngineOptions.defaults().withDevice("cuda")));
        assertTrue(e.getMessage().startsWith("device = cuda: CUDA unavailable: "), e.getMessage());
    }
}
