package org.mixtralspark.engine.io;

import java.nio.file.Path;

/**
 * A model file that cannot be used: corrupt, truncated, hostile or inconsistent. The message always names the
 * file and, where there is one, the tensor or metadata key at fault, and what was expected against what was found.
 */
public class ModelFormatException extends RuntimeException {

    public ModelFormatException(Path file, String what) {
        super(file + ": " + what);
    }

    public ModelFormatException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
