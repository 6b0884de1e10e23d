package org.mixtralspark.udf;

import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

/**
 * The columns a generation adds to a row, after the id (job) or after the input's columns (Transformer). Every input
 * row gets them, error rows included.
 */
public final class GenerationColumns {

    public static final String GENERATION = "generation";
    public static final String FINISH_REASON = "finish_reason";
    public static final String PROMPT_TOKENS = "prompt_tokens";
    public static final String COMPLETION_TOKENS = "completion_tokens";
    /** Prompt tokens whose keys and values came from the engine's prefix cache (0 with the cache off). */
    public static final String CACHED_PROMPT_TOKENS = "cached_prompt_tokens";
    public static final String ERROR = "error";
    public static final String LATENCY_MS = "latency_ms";
    public static final String MODEL = "model";
    public static final String MAX_NEW_TOKENS = "max_new_tokens";
    public static final String TEMPERATURE = "temperature";
    public static final String TOP_P = "top_p";
    public static final String TOP_K = "top_k";
    public static final String SEED = "seed";
    public static final String STOP = "stop";
    /** The optional per-row input column of how many samples to draw (an int; a null cell takes the job's). */
    public static final String N = "n";
    /**
     * Every sample of the row, sample 0 first ({@link #SAMPLES_TYPE}); added when the job's n is above 1 or the input
     * has an {@link #N} column.
     */
    public static final String SAMPLES = "samples";
    /** With one output row per sample (the job's --explode-samples): which sample of the input row it is. */
    public static final String SAMPLE_INDEX = "sample_index";
    /** Sample 0's generated tokens with their log-probabilities ({@link #LOGPROBS_TYPE}); added when logprobs > 0. */
    public static final String LOGPROBS = "logprobs";

    /** {@code array<struct<generation:string, finish_reason:string, completion_tokens:int>>}. */
    public static final DataType SAMPLES_TYPE = DataTypes.createArrayType(DataTypes.createStructType(new StructField[] {
        field(GENERATION, DataTypes.StringType), field(FINISH_REASON, DataTypes.StringType),
        field(COMPLETION_TOKENS, DataTypes.IntegerType)}), false);

    private static final StructField[] TOKEN_LOGPROB = {
        field("token", DataTypes.StringType), field("token_id", DataTypes.IntegerType),
        field("logprob", DataTypes.DoubleType)};

    /**
     * {@code array<struct<token:string, token_id:int, logprob:double, top:array<struct<token:string, token_id:int,
     * logprob:double>>>>}: per generated token, its vocabulary piece (as stored, e.g. {@code ▁the}, {@code <0x0A>}),
     * id and log-probability, and the top alternatives, most likely first.
     */
    public static final DataType LOGPROBS_TYPE = DataTypes.createArrayType(DataTypes.createStructType(new StructField[] {
        TOKEN_LOGPROB[0], TOKEN_LOGPROB[1], TOKEN_LOGPROB[2],
        field("top", DataTypes.createArrayType(DataTypes.createStructType(TOKEN_LOGPROB), false))}), false);
    /**
     * The optional per-row input column of structured output: a {@code response_format} JSON text (a null cell takes
     * the job's default). Read as input only; it is not among the added columns.
     */
    public static final String RESPONSE_FORMAT = "response_format";
    /**
     * The optional per-row input column of label scoring: {@code array<string>}, the labels to score instead of
     * generating (a null cell takes the job's default labels; none = generate). Read as input only.
     */
    public static final String LABELS = "labels";
    /** A scoring row's best label (null for a generating row). */
    public static final String LABEL = "label";
    /** A scoring row's log-probability of each label after the prompt (null for a generating row). */
    public static final String LABEL_LOGPROBS = "label_logprobs";

    /** Per-row parameter columns the input may have, by these names. */
    public static final List<String> PARAMETER_COLUMNS = List.of(MAX_NEW_TOKENS, TEMPERATURE, TOP_P, TOP_K, SEED, STOP,
            N);

    /**
     * An optional input column: a non-null string in it makes the row an error row with that message, without
     * running it (the job uses it for duplicate and null ids).
     */
    public static final String INPUT_ERROR = "_mixtral_input_error";

    private GenerationColumns() {
    }

    /** The added fields, with the generation column called {@code generationCol}. */
    public static List<StructField> fields(String generationCol) {
        return fields(generationCol, false, false);
    }

    /** As {@link #fields(String)}, then {@link #SAMPLES} and {@link #LOGPROBS} where asked for. */
    public static List<StructField> fields(String generationCol, boolean samples, boolean logprobs) {
        List<StructField> f = new ArrayList<>();
        f.add(field(generationCol, DataTypes.StringType));
        f.add(field(FINISH_REASON, DataTypes.StringType));
        f.add(field(PROMPT_TOKENS, DataTypes.IntegerType));
        f.add(field(COMPLETION_TOKENS, DataTypes.IntegerType));
        f.add(field(CACHED_PROMPT_TOKENS, DataTypes.IntegerType));
        f.add(field(ERROR, DataTypes.StringType));
        f.add(field(LATENCY_MS, DataTypes.LongType));
        f.add(field(MODEL, DataTypes.StringType));
        f.add(field(MAX_NEW_TOKENS, DataTypes.IntegerType));
        f.add(field(TEMPERATURE, DataTypes.DoubleType));
        f.add(field(TOP_P, DataTypes.DoubleType));
        f.add(field(TOP_K, DataTypes.IntegerType));
        f.add(field(SEED, DataTypes.LongType));
        f.add(field(STOP, DataTypes.createArrayType(DataTypes.StringType, false)));
        f.add(field(LABEL, DataTypes.StringType));
        f.add(field(LABEL_LOGPROBS, DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false)));
        if (samples) {
            f.add(field(SAMPLES, SAMPLES_TYPE));
        }
        if (logprobs) {
            f.add(field(LOGPROBS, LOGPROBS_TYPE));
        }
        return f;
    }

    /** The job's output: the id column as it is in the input, then the generation columns. */
    public static StructType jobSchema(StructField idField) {
        List<StructField> f = new ArrayList<>();
        f.add(idField);
        f.addAll(fields(GENERATION));
        return new StructType(f.toArray(StructField[]::new));
    }

    private static StructField field(String name, DataType type) {
        return DataTypes.createStructField(name, type, true);
    }
}
