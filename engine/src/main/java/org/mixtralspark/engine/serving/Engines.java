package org.mixtralspark.engine.serving;

import java.nio.file.Path;

/** Opens engines. */
public final class Engines {

    private Engines() {
    }

    /**
     * Loads the model at {@code model} (an HF checkpoint folder or a GGUF file) and starts an engine on the device
     * the options select.
     *
     * @throws org.mixtralspark.engine.io.ModelFormatException when the files are unusable (naming file and tensor)
     * @throws IllegalArgumentException                         when the options cannot be met (e.g. cuda without a GPU)
     */
    public static Engine open(Path model, EngineOptions options) {
        throw new UnsupportedOperationException("the engine is not implemented yet");
    }
}
