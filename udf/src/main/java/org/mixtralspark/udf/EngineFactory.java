package org.mixtralspark.udf;

import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;

/**
 * How {@link ExecutorEngines} opens an engine: {@link #REAL} ({@code Engines.open} on the resolved model path), or a
 * test engine in unit tests.
 */
@FunctionalInterface
public interface EngineFactory {

    EngineFactory REAL = spec -> Engines.open(spec.resolvePath(), spec.engineOptions());

    Engine open(ModelSpec spec);
}
