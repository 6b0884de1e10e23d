package org.mixtralspark.udf;

import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.serving.EngineOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelSpecTest {

    @Test
    void cudaTakesTheGpuSparkAssigned() {
        Map<String, ResourceInformation> gpu3 = Map.of("gpu", new ResourceInformation("gpu", new String[] {"3"}));
        assertEquals("cuda:3", ModelSpec.deviceFor("cuda", gpu3));
        assertEquals("auto", ModelSpec.deviceFor("auto", gpu3), "auto keeps its CPU fallback");
        assertEquals("cuda:1", ModelSpec.deviceFor("cuda:1", gpu3), "an explicit device wins");
        assertEquals("cuda", ModelSpec.deviceFor("cuda", Map.of()));
        assertEquals("cpu", ModelSpec.deviceFor("cpu", gpu3));
    }

    @Test
    void validatesWithTheEngineRulesAndResolvesPaths(@TempDir Path dir) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> ModelSpec.of(" "));
        assertThrows(IllegalArgumentException.class, () -> ModelSpec.of("m").withDevice("tpu"));
        assertThrows(IllegalArgumentException.class, () -> ModelSpec.of("m").withMaxBatchSize(0));
        Path model = Files.createFile(dir.resolve("m.gguf"));
        assertEquals(model, ModelSpec.of(model.toString()).resolvePath());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelSpec.of(dir.resolve("missing.gguf").toString()).resolvePath());
        assertTrue(e.getMessage().contains("--files"), e.getMessage());
    }

    @Test
    void travelsToTheExecutorsWithItsEngineOptions() throws Exception {
        ModelSpec spec = ModelSpec.of("/models/m.gguf").withThreads(3).withContextLength(128).withWeightMemory("heap");
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(spec);
        }
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            ModelSpec back = (ModelSpec) in.readObject();
            assertEquals(spec, back, "the key of ExecutorEngines survives serialization");
            assertEquals(new EngineOptions("auto", 3, 32, 128).withWeightMemory("heap"), back.options());
        }
        assertEquals(3, spec.engineOptions().threads(), "outside Spark, the options as given");
    }
}
