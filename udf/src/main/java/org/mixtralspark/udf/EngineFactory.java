package org.mixtralspark.udf;

import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;

import java.nio.file.Path;

/** How {@link ExecutorEngines} opens an engine: {@code Engines::open}, or a test engine in unit tests. */
@FunctionalInterface
public interface EngineFactory {
    Engine open(Path model, EngineOptions options);
}
