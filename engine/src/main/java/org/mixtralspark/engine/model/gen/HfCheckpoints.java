package org.mixtralspark.engine.model.gen;

import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;
import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.io.safetensors.SafetensorsCheckpoint;
import org.mixtralspark.engine.tensor.Dequantize;
import org.mixtralspark.engine.model.HfConfigs;
import org.mixtralspark.engine.model.MixtralConfig;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads an HF checkpoint folder into a {@link Checkpoint}, for conversion to GGUF (test-sized models). */
public final class HfCheckpoints {

    private HfCheckpoints() {
    }

    /**
     * @param folder        the HF folder
     * @param tokenizerGguf a GGUF file whose {@code tokenizer.*} metadata describes the same vocabulary
     */
    public static Checkpoint read(Path folder, Path tokenizerGguf) {
        MixtralConfig config = HfConfigs.read(folder.resolve("config.json"));
        LinkedHashMap<String, Checkpoint.Tensor> tensors = new LinkedHashMap<>();
        try (TensorSource src = SafetensorsCheckpoint.open(folder)) {
            for (TensorInfo t : src.tensors().values()) {
                float[] data = new float[Math.toIntExact(t.elementCount())];
                Dequantize.row(t.type(), src.bytes(t), 0, data, 0, data.length);
                tensors.put(t.name(), Checkpoint.Tensor.of(t.shape(), data));
            }
        }
        Map<String, Object> tokenizer = new LinkedHashMap<>();
        try (GgufFile gguf = GgufFile.open(tokenizerGguf)) {
            gguf.metadata().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) {
                    tokenizer.put(k, v);
                }
            });
        }
        return new Checkpoint(folder.getFileName().toString(), config, tensors, tokenizer);
    }
}
