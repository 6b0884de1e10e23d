package org.mixtralspark.udf;

import org.apache.arrow.vector.types.pojo.Schema;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.LabelScores;

import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The columns of the {@link ArrowResultBatch}, the one place that lists them; row i answers row i of the request
 * batch. The batch is read through Spark's column vectors, by the indexes below. Adding a result field is a line in
 * {@link #ALL} and an index.
 *
 * <pre>
 *   id                utf8    not null
 *   generation        utf8    not null   ("" for an error)
 *   finish_reason     utf8    not null   stop | length | error
 *   prompt_tokens     int32   not null
 *   completion_tokens int32   not null
 *   cached_prompt_tokens int32 not null  prompt tokens taken from the engine's prefix cache
 *   error             utf8    null unless finish_reason = error
 *   latency_ms        int64   not null   submit to completion, queueing included
 *   label             utf8    null unless the row scored labels: the best one
 *   label_names       list&lt;utf8&gt;    each label of a scoring row, in its order (empty for a generating row)
 *   label_logprobs    list&lt;float64&gt; each label's log-probability, as label_names (empty for a generating row)
 *   samples           list&lt;struct&lt;generation, finish_reason, completion_tokens&gt;&gt;  not null  every sample, 0 first
 *   logprobs          list&lt;struct&lt;token, token_id, logprob, top&gt;&gt;  null unless asked for  sample 0's
 * </pre>
 * The row's other columns are sample 0's.
 */
final class ResultColumns {

    /**
     * One row's source: the engine's results (one per sample, sample 0 first), how long the request took as the udf
     * saw it, and the vocabulary piece of a token id (for the log-probabilities' {@code token}).
     */
    record Answered(List<GenerationResult> samples, long latencyMs, IntFunction<String> piece) {
        GenerationResult result() {
            return samples.get(0);
        }

        /** Sample 0's log-probabilities, or null when the request asked for none. */
        NestedResultCodecs.Logprobs logprobs() {
            return result().logprobs().isEmpty() ? null : new NestedResultCodecs.Logprobs(result().logprobs(), piece);
        }
    }

    static final List<ArrowColumn<Answered, Void>> ALL = List.of(
            column("id", ArrowCodec.UTF8, a -> a.result().id()),
            column("generation", ArrowCodec.UTF8, a -> a.result().text() == null ? "" : a.result().text()),
            column("finish_reason", ArrowCodec.UTF8, a -> a.result().finishReason().wireName()),
            column("prompt_tokens", ArrowCodec.INT32, a -> a.result().promptIds().length),
            column("completion_tokens", ArrowCodec.INT32, a -> a.result().tokenIds().length),
            column("cached_prompt_tokens", ArrowCodec.INT32, a -> a.result().cachedPromptTokens()),
            column("error", ArrowCodec.NULLABLE_UTF8, a -> a.result().error()),
            column("latency_ms", ArrowCodec.INT64, Answered::latencyMs),
            column("label", ArrowCodec.NULLABLE_UTF8,
                    a -> a.result().labelScores() == null ? null : a.result().labelScores().best()),
            column("label_names", ArrowCodec.UTF8_LIST, a -> a.result().labelScores() == null ? List.of()
                    : a.result().labelScores().labels().stream().map(LabelScores.Label::label).toList()),
            column("label_logprobs", ArrowCodec.FLOAT64_LIST, a -> a.result().labelScores() == null ? new double[0]
                    : a.result().labelScores().labels().stream().mapToDouble(LabelScores.Label::logprob).toArray()),
            column("samples", NestedResultCodecs.SAMPLES, Answered::samples),
            column("logprobs", NestedResultCodecs.LOGPROBS, Answered::logprobs));

    static final Schema SCHEMA = ArrowColumn.schema(ALL);

    static final int ID = index("id");
    static final int GENERATION = index("generation");
    static final int FINISH_REASON = index("finish_reason");
    static final int PROMPT_TOKENS = index("prompt_tokens");
    static final int COMPLETION_TOKENS = index("completion_tokens");
    static final int CACHED_PROMPT_TOKENS = index("cached_prompt_tokens");
    static final int ERROR = index("error");
    static final int LATENCY_MS = index("latency_ms");
    static final int LABEL = index("label");
    static final int LABEL_NAMES = index("label_names");
    static final int LABEL_LOGPROBS = index("label_logprobs");
    static final int SAMPLES = index("samples");
    static final int LOGPROBS = index("logprobs");

    private ResultColumns() {
    }

    private static <V> ArrowColumn<Answered, Void> column(String name, ArrowCodec<V> codec,
                                                          Function<Answered, V> get) {
        return ArrowColumn.writeOnly(name, codec, get);
    }

    private static int index(String name) {
        for (int i = 0; i < ALL.size(); i++) {
            if (ALL.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalStateException("no result column " + name);
    }
}
