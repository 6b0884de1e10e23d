package org.mixtralspark.engine.model;

import org.mixtralspark.engine.io.ModelFormatException;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.TensorSource;
import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.io.safetensors.SafetensorsCheckpoint;
import org.mixtralspark.engine.tensor.Dequantize;
import org.mixtralspark.engine.tensor.WeightMatrix;
import org.mixtralspark.engine.model.TensorNames.Proj;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a model from a GGUF file or an HF checkpoint folder, like llama.cpp's {@code create_tensor}: every lookup
 * states the shape it expects, and a missing tensor or a wrong shape is a {@link ModelFormatException} naming the
 * file, the tensor, and expected against found. Tensors the model does not use are reported in the log.
 */
public final class ModelLoader {

    private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);

    private final TensorSource source;
    private final TensorNames names;
    private MixtralConfig config;
    private final Set<String> used = new HashSet<>();

    private ModelLoader(TensorSource source, TensorNames names, MixtralConfig config) {
        this.source = source;
        this.names = names;
        this.config = config;
    }

    /** Opens the GGUF file or HF folder at {@code path}. */
    public static LoadedModel load(Path path) {
        if (Files.isDirectory(path)) {
            Path configJson = path.resolve("config.json");
            if (!Files.isRegularFile(configJson)) {
                throw new ModelFormatException(path, "not a model: a folder needs config.json and safetensors files");
            }
            MixtralConfig config = HfConfigs.read(configJson);
            TensorSource source = SafetensorsCheckpoint.open(path);
            try {
                MixtralWeights weights = new ModelLoader(source, TensorNames.HF, config).weights();
                return new LoadedModel(path, "safetensors", path.getFileName().toString(), config, weights, source,
                        Map.of());
            } catch (RuntimeException e) {
                source.close();
                throw e;
            }
        }
        if (!Files.isRegularFile(path)) {
            throw new ModelFormatException(path, "no such model file or folder");
        }
        GgufFile gguf = GgufFile.open(path);
        try {
            Map<String, Object> md = gguf.metadata();
            ModelLoader loader = new ModelLoader(gguf, TensorNames.GGUF, GgufConfigs.read(md, path));
            MixtralConfig config = loader.withRopeFrequencyDivisors();
            MixtralWeights weights = loader.weights();
            Object name = md.get("general.name");
            return new LoadedModel(path, "gguf", name instanceof String s ? s : path.getFileName().toString(), config,
                    weights, gguf, md);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /**
     * llama.cpp's converter writes Llama 3.1's rope scaling as the tensor {@code rope_freqs.weight}: one divisor per
     * RoPE frequency (headDim / 2, F32). When the file has it, the config's scaling carries it.
     */
    private MixtralConfig withRopeFrequencyDivisors() {
        String name = "rope_freqs.weight";
        if (source.tensors().containsKey(name)) {
            float[] f = vector(name, config.headDim() / 2);
            double[] divisors = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                divisors[i] = f[i];
            }
            try {
                config = config.withRopeScaling(config.ropeScaling().withFrequencyDivisors(divisors));
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(source.path(), "tensor " + name + ": " + e.getMessage(), e);
            }
        }
        return config;
    }

    private MixtralWeights weights() {
        MixtralConfig c = config;
        WeightMatrix embedding = matrix(names.embedding(), c.vocabSize(), c.dim(), null);
        LayerWeights[] layers = new LayerWeights[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            layers[l] = layer(l);
        }
        float[] outputNorm = vector(names.outputNorm(), c.dim());
        WeightMatrix lmHead = source.tensors().containsKey(names.lmHead())
                ? matrix(names.lmHead(), c.vocabSize(), c.dim(), null)
                : embedding; // tied embeddings: the LM head is the embedding matrix
        Set<String> unused = new TreeSet<>(source.tensors().keySet());
        unused.removeAll(used);
        if (!unused.isEmpty()) {
            LOG.warn("{}: {} tensors not used by the model: {}", source.path(), unused.size(), unused);
        }
        return new MixtralWeights(c, embedding, layers, outputNorm, lmHead);
    }

    private LayerWeights layer(int l) {
        MixtralConfig c = config;
        // HF checkpoints keep q/k rows in rotate-half order; permute them to GGUF's interleaved pairs so that one
        // RoPE kernel serves both formats (the inverse of convert_hf_to_gguf's LlamaModel.permute).
        int[] qMap = names == TensorNames.HF ? ropeInterleaveRowMap(c.heads(), c.headDim()) : null;
        int[] kMap = names == TensorNames.HF ? ropeInterleaveRowMap(c.kvHeads(), c.headDim()) : null;
        WeightMatrix wq = matrix(names.wq(l), c.qDim(), c.dim(), qMap);
        WeightMatrix wk = matrix(names.wk(l), c.kvDim(), c.dim(), kMap);
        WeightMatrix wv = matrix(names.wv(l), c.kvDim(), c.dim(), null);
        WeightMatrix wo = matrix(names.wo(l), c.dim(), c.qDim(), null);
        float[] attnNorm = vector(names.attnNorm(l), c.dim());
        float[] ffnNorm = vector(names.ffnNorm(l), c.dim());
        float[] router = null;
        ExpertWeights[] experts;
        if (c.isMoe()) {
            router = vector(names.router(l), c.experts(), c.dim());
            experts = new ExpertWeights[c.experts()];
            String merged = names.mergedExperts(l, Proj.GATE);
            if (merged != null && source.tensors().containsKey(merged)) {
                for (int e = 0; e < c.experts(); e++) {
                    experts[e] = new ExpertWeights(
                            expertSlice(names.mergedExperts(l, Proj.GATE), e, c.hiddenDim(), c.dim()),
                            expertSlice(names.mergedExperts(l, Proj.UP), e, c.hiddenDim(), c.dim()),
                            expertSlice(names.mergedExperts(l, Proj.DOWN), e, c.dim(), c.hiddenDim()));
                }
            } else {
                for (int e = 0; e < c.experts(); e++) {
                    experts[e] = new ExpertWeights(
                            matrix(names.expert(l, e, Proj.GATE), c.hiddenDim(), c.dim(), null),
                            matrix(names.expert(l, e, Proj.UP), c.hiddenDim(), c.dim(), null),
                            matrix(names.expert(l, e, Proj.DOWN), c.dim(), c.hiddenDim(), null));
                }
            }
        } else {
            experts = new ExpertWeights[] {new ExpertWeights(
                    matrix(names.denseFfn(l, Proj.GATE), c.hiddenDim(), c.dim(), null),
                    matrix(names.denseFfn(l, Proj.UP), c.hiddenDim(), c.dim(), null),
                    matrix(names.denseFfn(l, Proj.DOWN), c.dim(), c.hiddenDim(), null))};
        }
        return new LayerWeights(attnNorm, wq, wk, wv, wo, ffnNorm, router, experts);
    }

    /**
     * Row map from the interleaved layout to HF's rotate-half layout: in each head of {@code headDim} rows, logical
     * row {@code 2j} is stored row {@code j} and logical row {@code 2j+1} is stored row {@code j + headDim/2}.
     */
    public static int[] ropeInterleaveRowMap(int heads, int headDim) {
        int[] map = new int[heads * headDim];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                map[h * headDim + 2 * j] = h * headDim + j;
                map[h * headDim + 2 * j + 1] = h * headDim + half + j;
            }
        }
        return map;
    }

    private TensorInfo find(String name, long... shape) {
        TensorInfo t = source.tensors().get(name);
        if (t == null) {
            throw new ModelFormatException(source.path(), "missing tensor " + name + " (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelFormatException(t.file(), "tensor " + name + ": expected shape " + Arrays.toString(shape)
                    + " from the model config, found " + t.shapeString());
        }
        if (!t.type().supportedForWeights()) {
            throw new ModelFormatException(t.file(), "tensor " + name + ": type " + t.type() + " is not supported");
        }
        used.add(name);
        return t;
    }

    private WeightMatrix matrix(String name, int rows, int cols, int[] rowMap) {
        TensorInfo t = find(name, rows, cols);
        checkRowBlocks(t, cols);
        return new WeightMatrix(name, t.type(), rows, cols, source.bytes(t), rowMap);
    }

    private WeightMatrix expertSlice(String name, int expert, int rows, int cols) {
        TensorInfo t = find(name, config.experts(), rows, cols);
        checkRowBlocks(t, cols);
        long perExpert = t.byteSize() / config.experts();
        return new WeightMatrix(name + "[" + expert + "]", t.type(), rows, cols,
                source.bytes(t, expert * perExpert, perExpert), null);
    }

    private void checkRowBlocks(TensorInfo t, int cols) {
        if (cols % t.type().blockSize != 0) {
            throw new ModelFormatException(t.file(), "tensor " + t.name() + ": row length " + cols
                    + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize);
        }
    }

    /** A small tensor (norm weights, router) dequantised to fp32 on the heap. */
    private float[] vector(String name, long... shape) {
        TensorInfo t = find(name, shape);
        int n = Math.toIntExact(t.elementCount());
        float[] out = new float[n];
        Dequantize.row(t.type(), source.bytes(t), 0, out, 0, n);
        return out;
    }

}
