package org.mixtralspark.engine.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The compiled kernels: fatbins that the build's {@code cuda-kernels} profile put under {@code cuda/} on the class
 * path (src/main/cuda/build.sh), listed in {@code cuda/kernels.list}, with {@code cuda/BUILD-INFO.txt} saying how
 * they were built or why they were not.
 */
public final class KernelImages {

    static final String DIR = "cuda/";
    /** The first four bytes of a fatbin container (0xBA55ED50, little-endian). */
    static final int FATBIN_MAGIC = 0xBA55ED50;

    private KernelImages() {
    }

    /** One fatbin: its name (the .cu file's stem) and bytes. */
    public record Image(String name, byte[] bytes) {
    }

    /** The build note: nvcc version and flags, or why nothing was built; null when there is none at all. */
    public static String buildInfo() {
        byte[] b = resource(DIR + "BUILD-INFO.txt");
        return b == null ? null : new String(b, StandardCharsets.UTF_8).trim();
    }

    /** Why the kernels cannot be loaded, or null when every listed fatbin is present and looks like one. */
    public static String missingReason() {
        byte[] list = resource(DIR + "kernels.list");
        if (list == null) {
            String info = buildInfo();
            return "the CUDA kernels are not in this build ("
                    + (info == null ? "no cuda/ resources on the class path" : info)
                    + "); build with nvcc on the PATH (or -Dmixtral.nvcc=PATH)";
        }
        for (String name : names(list)) {
            byte[] b = resource(DIR + name + ".fatbin");
            if (b == null) {
                return "cuda/" + name + ".fatbin is listed in cuda/kernels.list but missing from the class path";
            }
            if (!isFatbin(b)) {
                return "cuda/" + name + ".fatbin does not start with the fatbin magic 0xBA55ED50";
            }
        }
        return null;
    }

    /** Every listed fatbin; throws IllegalStateException with {@link #missingReason()} when one is missing. */
    public static List<Image> load() {
        String missing = missingReason();
        if (missing != null) {
            throw new IllegalStateException(missing);
        }
        List<Image> out = new ArrayList<>();
        for (String name : names(resource(DIR + "kernels.list"))) {
            out.add(new Image(name, resource(DIR + name + ".fatbin")));
        }
        return out;
    }

    static boolean isFatbin(byte[] b) {
        return b.length >= 4 && ((b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24)
                == FATBIN_MAGIC;
    }

    private static List<String> names(byte[] list) {
        List<String> out = new ArrayList<>();
        for (String line : new String(list, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(line.trim());
            }
        }
        return out;
    }

    private static byte[] resource(String path) {
        try (InputStream in = KernelImages.class.getClassLoader().getResourceAsStream(path)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path + " from the class path", e);
        }
    }
}
