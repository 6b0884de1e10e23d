package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The packaged engine jar carries the kernels the build compiled (what the GPU machine and executors load). */
class EngineJarIT {

    @Test
    void theJarHoldsEveryListedFatbinOrSaysWhyNot() throws IOException {
        Path jar = Path.of(System.getProperty("mixtral.engine.jar", "target/missing.jar"));
        assertTrue(Files.isRegularFile(jar), "the engine jar " + jar);
        try (JarFile j = new JarFile(jar.toFile())) {
            ZipEntry info = j.getEntry("cuda/BUILD-INFO.txt");
            assertNotNull(info, "cuda/BUILD-INFO.txt in " + jar);
            String text = new String(j.getInputStream(info).readAllBytes(), StandardCharsets.UTF_8);
            GpuAssumptions.require(!text.startsWith("not built"), jar.getFileName() + " has no kernels: " + text.trim());
            ZipEntry list = j.getEntry("cuda/kernels.list");
            assertNotNull(list, "cuda/kernels.list in " + jar);
            for (String name : new String(j.getInputStream(list).readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (name.isBlank()) {
                    continue;
                }
                ZipEntry f = j.getEntry("cuda/" + name.trim() + ".fatbin");
                assertNotNull(f, "cuda/" + name + ".fatbin in " + jar);
                assertTrue(KernelImages.isFatbin(j.getInputStream(f).readNBytes(4)), name + " is a fatbin");
            }
        }
    }
}
