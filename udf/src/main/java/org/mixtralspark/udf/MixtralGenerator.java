package org.mixtralspark.udf;

import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.EngineOptions;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.function.Predicate;

/**
 * A Spark ML {@link Transformer} that completes a prompt (or chat messages) column with a Mixtral-family model: every
 * input row gets {@link GenerationColumns#fields} appended (the generation under {@code outputCol}), error rows
 * included. It runs the job's {@link GenerateFunction}: one engine per executor, Arrow batches in between.
 *
 * <pre>{@code
 * MixtralGenerator gen = new MixtralGenerator().setModel("/models/mixtral.gguf").setInputCol("prompt")
 *     .setMaxNewTokens(64).setTemperature(0.7).setSeed(42);
 * Dataset<Row> out = gen.transform(prompts);
 * }</pre>
 *
 * From PySpark: {@code JavaTransformer} wrapping {@code org.mixtralspark.udf.MixtralGenerator} (see the README).
 */
public class MixtralGenerator extends Transformer implements DefaultParamsWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;

    private Param<String> idCol;
    private Param<String> inputCol;
    private Param<String> messagesCol;
    private Param<String> outputCol;
    private Param<String> model;
    private Param<String> device;
    private Param<String> weightMemory;
    private IntParam threads;
    private IntParam maxBatchSize;
    private IntParam maxNewTokens;
    private DoubleParam temperature;
    private DoubleParam topP;
    private IntParam topK;
    private LongParam seed;
    private IntParam batchSize;
    private BooleanParam prefixCache;
    private Param<String> kvType;
    private Param<String> responseFormat;
    private StringArrayParam labels;
    private IntParam n;
    private IntParam logprobs;

    public MixtralGenerator() {
        this(Identifiable$.MODULE$.randomUID("mixtralGenerator"));
    }

    public MixtralGenerator(String uid) {
        this.uid = uid;
        init();
    }

    /** Every Param with its doc, range and default, side by side (called by both constructors). */
    private void init() {
        idCol = new Param<>(this, "idCol", "id column: its string form seeds the row (with seed)", nonBlank());
        setDefault(idCol, "id");
        inputCol = new Param<>(this, "inputCol", "prompt column (string); ignored when messagesCol is set",
                nonBlank());
        setDefault(inputCol, "prompt");
        messagesCol = new Param<>(this, "messagesCol", "chat messages column (array of {role, content}, or a JSON "
                + "string) rendered with the model's chat template; empty = use inputCol", always());
        setDefault(messagesCol, "");
        outputCol = new Param<>(this, "outputCol", "column for the generated text", nonBlank());
        setDefault(outputCol, GenerationColumns.GENERATION);
        model = new Param<>(this, "model", "model path every executor can read (GGUF file or HF folder), or the "
                + "name of a file shipped with --files", always());
        setDefault(model, "");
        device = new Param<>(this, "device", "auto | cpu | cuda | cuda:N",
                check((String v) -> v != null && v.matches("auto|cpu|cuda|cuda:[0-9]{1,4}")));
        setDefault(device, "auto");
        weightMemory = new Param<>(this, "weightMemory", "CPU: where the weights live: mapped (the file's pages, "
                + "shared by a node's executors), heap (copied at load, faster decoding; size the executor heap for "
                + "it) or auto (heap if it fits)", check((String v) -> v != null && v.matches("mapped|heap|auto")));
        setDefault(weightMemory, "mapped");
        threads = new IntParam(this, "threads", "engine CPU threads per executor, >= 0 (0 = the executor's cores)",
                ParamValidators.gtEq(0));
        setDefault(threads, 0);
        maxBatchSize = new IntParam(this, "maxBatchSize", "most sequences in one engine step per executor, >= 1",
                ParamValidators.gtEq(1));
        setDefault(maxBatchSize, 32);
        maxNewTokens = new IntParam(this, "maxNewTokens", "default most tokens to generate per row, >= 1 "
                + "(a max_new_tokens column overrides it per row)", ParamValidators.gtEq(1));
        setDefault(maxNewTokens, 64);
        temperature = new DoubleParam(this, "temperature", "default temperature, >= 0 (0 = greedy)",
                ParamValidators.gtEq(0));
        setDefault(temperature, 0.0);
        topP = new DoubleParam(this, "topP", "default nucleus mass, in (0, 1] (1 = off)",
                ParamValidators.inRange(0, 1, false, true));
        setDefault(topP, 1.0);
        topK = new IntParam(this, "topK", "default top-k, >= 0 (0 = off)", ParamValidators.gtEq(0));
        setDefault(topK, 0);
        seed = new LongParam(this, "seed", "job seed: each row's seed derives from it and the row id, so the output "
                + "does not depend on partitioning; unset = random", always());
        batchSize = new IntParam(this, "batchSize", "rows per Arrow batch handed to the engine, >= 1",
                ParamValidators.gtEq(1));
        setDefault(batchSize, 64);
        prefixCache = new BooleanParam(this, "prefixCache", "true: a prompt that starts like an earlier one on the "
                + "same executor reuses the keys and values of the shared whole blocks (cached_prompt_tokens counts "
                + "them); false: every prompt token is computed");
        setDefault(prefixCache, true);
        kvType = new Param<>(this, "kvType", "CPU: how the KV cache stores keys and values: f16 (half the memory of "
                + "f32, as llama.cpp's default), bf16 or f32 (exact)", check((String v) -> v != null
                && v.matches("f16|bf16|f32")));
        setDefault(kvType, "f16");
        responseFormat = new Param<>(this, "responseFormat", "default structured output format of a row with no "
                + "response_format cell: a response_format JSON text ({\"type\": json_schema | json_object | regex | "
                + "choice, ...}, as the job's --response-format); empty = free text", validResponseFormat());
        setDefault(responseFormat, "");
        labels = new StringArrayParam(this, "labels", "labels a row with no labels cell scores instead of generating "
                + "(as the job's --labels): the output's label is the most likely one after the prompt and "
                + "label_logprobs each one's log-probability; empty = generate", validLabels());
        setDefault(labels, new String[0]);
        n = new IntParam(this, "n", "default samples per row, in [1, " + SamplingParams.MAX_N + "] (an n column "
                + "overrides it per row); above 1, or with an n column, a samples column holds every sample and the "
                + "output column sample 0", ParamValidators.inRange(1, SamplingParams.MAX_N));
        setDefault(n, 1);
        logprobs = new IntParam(this, "logprobs", "top alternatives per generated token in a logprobs column, in [0, "
                + SamplingParams.MAX_LOGPROBS + "] (0 = no logprobs column)",
                ParamValidators.inRange(0, SamplingParams.MAX_LOGPROBS));
        setDefault(logprobs, 0);
    }

    public StringArrayParam labels() { return labels; }
    public String[] getLabels() { return $(labels); }
    public MixtralGenerator setLabels(String[] v) { set(labels, v); return this; }

    /** Empty, or labels with none empty and none twice (the rest, e.g. the context, is per row). */
    private static scala.Function1<String[], Object> validLabels() {
        return check((String[] v) -> {
            if (v == null) {
                return false;
            }
            if (v.length > 0) {
                try {
                    GenerateFunction.checkLabels(java.util.Arrays.asList(v));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("MixtralGenerator labels: " + e.getMessage(), e);
                }
            }
            return true;
        });
    }

    public Param<String> idCol() { return idCol; }
    public Param<String> inputCol() { return inputCol; }
    public Param<String> messagesCol() { return messagesCol; }
    public Param<String> outputCol() { return outputCol; }
    public Param<String> model() { return model; }
    public Param<String> device() { return device; }
    public Param<String> weightMemory() { return weightMemory; }
    public IntParam threads() { return threads; }
    public IntParam maxBatchSize() { return maxBatchSize; }
    public IntParam maxNewTokens() { return maxNewTokens; }
    public DoubleParam temperature() { return temperature; }
    public DoubleParam topP() { return topP; }
    public IntParam topK() { return topK; }
    public LongParam seed() { return seed; }
    public IntParam batchSize() { return batchSize; }
    public BooleanParam prefixCache() { return prefixCache; }
    public Param<String> kvType() { return kvType; }
    public Param<String> responseFormat() { return responseFormat; }
    public IntParam n() { return n; }
    public IntParam logprobs() { return logprobs; }

    public String getIdCol() { return $(idCol); }
    public String getInputCol() { return $(inputCol); }
    public String getMessagesCol() { return $(messagesCol); }
    public String getOutputCol() { return $(outputCol); }
    public String getModel() { return $(model); }
    public String getDevice() { return $(device); }
    public String getWeightMemory() { return $(weightMemory); }
    public int getThreads() { return (Integer) $(threads); }
    public int getMaxBatchSize() { return (Integer) $(maxBatchSize); }
    public int getMaxNewTokens() { return (Integer) $(maxNewTokens); }
    public double getTemperature() { return (Double) $(temperature); }
    public double getTopP() { return (Double) $(topP); }
    public int getTopK() { return (Integer) $(topK); }
    public long getSeed() { return (Long) $(seed); }
    public int getBatchSize() { return (Integer) $(batchSize); }
    public boolean getPrefixCache() { return (Boolean) $(prefixCache); }
    public String getKvType() { return $(kvType); }
    public String getResponseFormat() { return $(responseFormat); }
    public int getN() { return (Integer) $(n); }
    public int getLogprobs() { return (Integer) $(logprobs); }

    public MixtralGenerator setIdCol(String v) { set(idCol, v); return this; }
    public MixtralGenerator setInputCol(String v) { set(inputCol, v); return this; }
    public MixtralGenerator setMessagesCol(String v) { set(messagesCol, v); return this; }
    public MixtralGenerator setOutputCol(String v) { set(outputCol, v); return this; }
    public MixtralGenerator setModel(String v) { set(model, v); return this; }
    public MixtralGenerator setDevice(String v) { set(device, v); return this; }
    public MixtralGenerator setWeightMemory(String v) { set(weightMemory, v); return this; }
    public MixtralGenerator setThreads(int v) { set(threads, v); return this; }
    public MixtralGenerator setMaxBatchSize(int v) { set(maxBatchSize, v); return this; }
    public MixtralGenerator setMaxNewTokens(int v) { set(maxNewTokens, v); return this; }
    public MixtralGenerator setTemperature(double v) { set(temperature, v); return this; }
    public MixtralGenerator setTopP(double v) { set(topP, v); return this; }
    public MixtralGenerator setTopK(int v) { set(topK, v); return this; }
    public MixtralGenerator setSeed(long v) { set(seed, v); return this; }
    public MixtralGenerator setBatchSize(int v) { set(batchSize, v); return this; }
    public MixtralGenerator setPrefixCache(boolean v) { set(prefixCache, v); return this; }
    public MixtralGenerator setKvType(String v) { set(kvType, v); return this; }
    public MixtralGenerator setResponseFormat(String v) { set(responseFormat, v); return this; }
    public MixtralGenerator setN(int v) { set(n, v); return this; }
    public MixtralGenerator setLogprobs(int v) { set(logprobs, v); return this; }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return function(schema).outputSchema();
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        Dataset<Row> df = dataset.toDF();
        GenerateFunction fn = function(df.schema());
        return fn.apply(df);
    }

    @Override
    public MixtralGenerator copy(ParamMap extra) {
        return (MixtralGenerator) defaultCopy(extra);
    }

    public static MLReader<MixtralGenerator> read() {
        return new DefaultParamsReader<>();
    }

    public static MixtralGenerator load(String path) {
        return read().load(path);
    }

    private GenerateFunction function(StructType schema) {
        if (getModel().isBlank()) {
            throw new IllegalArgumentException("model is not set: setModel(path of a GGUF file or HF folder)");
        }
        boolean chat = !getMessagesCol().isEmpty();
        ModelSpec spec = new ModelSpec(getModel(), new EngineOptions(getDevice(), getThreads(), getMaxBatchSize(), 0)
                .withWeightMemory(getWeightMemory()).withPrefixCache(getPrefixCache())
                .withKvType(getKvType()));
        SamplingParams defaults = SamplingParams.builder().maxNewTokens(getMaxNewTokens())
                .temperature((float) getTemperature()).topP((float) getTopP()).topK(getTopK()).n(getN()).logprobs(getLogprobs()).build();
        return new GenerateFunction(schema, getIdCol(), chat ? null : getInputCol(), chat ? getMessagesCol() : null,
                spec, defaults, isDefined(seed) ? getSeed() : null,
                getResponseFormat().isEmpty() ? null : getResponseFormat(), getBatchSize(), true, getOutputCol(), null)
                .withDefaultLabels(java.util.Arrays.asList(getLabels()));
    }

    private static <T> scala.Function1<T, Object> nonBlank() {
        return check((T v) -> v != null && !v.toString().isBlank());
    }

    /**
     * Empty, or a format the engine compiles. A bad one throws with the engine's reason (e.g. the unsupported
     * keyword) rather than returning false, for which Spark would say only "given invalid value".
     */
    private static scala.Function1<String, Object> validResponseFormat() {
        return check((String v) -> {
            if (v == null) {
                return false;
            }
            if (v.isEmpty()) {
                return true;
            }
            try {
                ResponseFormat.parse(v);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("MixtralGenerator responseFormat: " + e.getMessage(), e);
            }
            return true;
        });
    }

    private static <T> scala.Function1<T, Object> always() {
        return check((T v) -> true);
    }

    private static <T> scala.Function1<T, Object> check(SerializablePredicate<T> p) {
        return new Check<>(p);
    }

    private interface SerializablePredicate<T> extends Predicate<T>, Serializable {
    }

    private static final class Check<T> extends AbstractFunction1<T, Object> implements Serializable {
        private final SerializablePredicate<T> p;

        Check(SerializablePredicate<T> p) {
            this.p = p;
        }

        @Override
        public Object apply(T v) {
            return p.test(v);
        }
    }
}
