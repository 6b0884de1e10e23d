package org.mixtralspark.engine.backend.cuda;

import java.util.Locale;

/** Byte counts for messages. */
final class Bytes {

    private Bytes() {
    }

    /** "93.4 GiB", "512.0 MiB", "12 B". */
    static String format(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        if (bytes >= 1L << 10) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / (double) (1L << 10));
        }
        return bytes + " B";
    }
}
