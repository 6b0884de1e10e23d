package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build puts our fatbins on the class path when nvcc is there (the cuda-kernels profile), and says why not
 * otherwise. Where this machine has nvcc, the kernels must have been built: a silently skipped compile would leave
 * the CUDA backend unavailable on every GPU.
 */
class KernelImagesTest {

    /** nvcc where src/main/cuda/build.sh looks for it (-Dmixtral.nvcc=none: the build was told not to use it). */
    static boolean nvccPresent() {
        String configured = System.getProperty("mixtral.nvcc", "");
        if (configured.equals("none")) {
            return false;
        }
        if (!configured.isEmpty()) {
            return true;
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) {
                return true;
            }
        }
        String cudaHome = System.getenv("CUDA_HOME");
        return (cudaHome != null && Files.isExecutable(Path.of(cudaHome, "bin", "nvcc")))
                || Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
    }

    @Test
    void theBuildSaysHowTheKernelsWereBuiltOrWhyNot() {
        String info = KernelImages.buildInfo();
        assertNotNull(info, "cuda/BUILD-INFO.txt is missing: the cuda-kernels profile did not run");
        if (nvccPresent()) {
            assertTrue(info.startsWith("built by: "), info);
            assertTrue(info.contains("code=sm_80") && info.contains("code=sm_90") && info.contains("code=compute_90"),
                    "sm_80 and sm_90 machine code plus compute_90 PTX: " + info);
        } else {
            assertTrue(info.startsWith("not built: nvcc "), info);
        }
    }

    @Test
    void withoutNvccTheBackendSaysTheKernelsAreNotInTheBuild() {
        GpuAssumptions.require(!nvccPresent(), "nvcc is on this machine, so the kernels are built");
        assertTrue(KernelImages.missingReason().startsWith("the CUDA kernels are not in this build (not built: nvcc"),
                KernelImages.missingReason());
    }

    @Test
    void withNvccEveryKernelFileIsAFatbinOnTheClassPath() {
        GpuAssumptions.require(nvccPresent(), "no nvcc on this machine; the CUDA backend reports: "
                + KernelImages.missingReason());
        assertNull(KernelImages.missingReason());
        List<KernelImages.Image> images = KernelImages.load();
        Set<String> names = images.stream().map(KernelImages.Image::name).collect(Collectors.toSet());
        assertEquals(Set.of("attention", "elementwise", "gemm", "moe"), names);
        for (KernelImages.Image i : images) {
            assertTrue(KernelImages.isFatbin(i.bytes()), i.name() + " starts with the fatbin magic");
            assertTrue(i.bytes().length > 1000, i.name() + " has code in it");
        }
    }
}
