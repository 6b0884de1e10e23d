package org.mixtralspark.engine.backend.cpu;

/**
 * Whether the Vector API can be used in this JVM. It lives in an incubator module that the JVM only has with
 * {@code --add-modules jdk.incubator.vector}; without it, merely loading a class that touches {@code FloatVector}
 * fails with {@code NoClassDefFoundError}. This class touches none, so callers can ask first and fall back to the
 * scalar kernels. {@code -Dmixtral.vector.bits=0} turns the Vector API off on purpose.
 */
public final class VectorSupport {

    /** True when the vector kernels can run. */
    public static final boolean AVAILABLE = probe();

    private VectorSupport() {
    }

    private static boolean probe() {
        if ("0".equals(System.getProperty("mixtral.vector.bits", "").trim())) {
            return false;
        }
        try {
            Class.forName("jdk.incubator.vector.FloatVector");
            return VectorMatmul.isAvailable();
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Why the scalar path is used, for logs; null when the vector path is on. */
    public static String reasonUnavailable() {
        if (AVAILABLE) {
            return null;
        }
        return "0".equals(System.getProperty("mixtral.vector.bits", "").trim())
                ? "-Dmixtral.vector.bits=0"
                : "the JVM was started without --add-modules=jdk.incubator.vector";
    }
}
