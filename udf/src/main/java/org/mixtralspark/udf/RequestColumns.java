package org.mixtralspark.udf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.arrow.vector.types.pojo.Schema;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.LabelScoring;

import java.util.List;
import java.util.function.Function;

/**
 * The columns of the {@link ArrowRequestBatch}, the one place that lists them: every field of a
 * {@link GenerationRequest}, its {@link SamplingParams} field by field, so that the engine's side rebuilds the request
 * from the batch alone. A field added to the request is a line added here ({@code ArrowBatchesTest} fails until it
 * is). Names are the snake_case of the record components, as the output table and vLLM spell them.
 */
final class RequestColumns {

    /** What a request is rebuilt from while its row is read. */
    static final class Parts {
        String id;
        int[] promptIds;
        final SamplingParams.Builder params = SamplingParams.builder();
        ResponseFormat responseFormat;
        int promptLogprobs = -1;
        LabelScoring labels;

        GenerationRequest build() {
            return new GenerationRequest(id, promptIds, params.build(), responseFormat, promptLogprobs, labels);
        }
    }

    static final List<ArrowColumn<GenerationRequest, Parts>> ALL = List.of(
            ArrowColumn.of("id", ArrowCodec.UTF8, GenerationRequest::id, (p, v) -> p.id = v),
            // BOS included when the row wants it: the udf tokenized the prompt, the engine never guesses
            ArrowColumn.of("prompt_ids", ArrowCodec.INT32_LIST, GenerationRequest::promptIds, (p, v) -> p.promptIds = v),
            param("max_new_tokens", ArrowCodec.INT32, SamplingParams::maxNewTokens, SamplingParams.Builder::maxNewTokens),
            param("temperature", ArrowCodec.FLOAT32, SamplingParams::temperature, SamplingParams.Builder::temperature),
            param("top_k", ArrowCodec.INT32, SamplingParams::topK, SamplingParams.Builder::topK),
            param("top_p", ArrowCodec.FLOAT32, SamplingParams::topP, SamplingParams.Builder::topP),
            param("min_p", ArrowCodec.FLOAT32, SamplingParams::minP, SamplingParams.Builder::minP),
            param("repetition_penalty", ArrowCodec.FLOAT32, SamplingParams::repetitionPenalty,
                    SamplingParams.Builder::repetitionPenalty),
            param("presence_penalty", ArrowCodec.FLOAT32, SamplingParams::presencePenalty,
                    SamplingParams.Builder::presencePenalty),
            param("frequency_penalty", ArrowCodec.FLOAT32, SamplingParams::frequencyPenalty,
                    SamplingParams.Builder::frequencyPenalty),
            // null = a random seed
            param("seed", ArrowCodec.NULLABLE_INT64, SamplingParams::seed, SamplingParams.Builder::seed),
            param("stop", ArrowCodec.UTF8_LIST, SamplingParams::stopStrings, SamplingParams.Builder::stopStrings),
            param("stop_token_ids", ArrowCodec.INT32_LIST, SamplingParams::stopTokenIds,
                    SamplingParams.Builder::stopTokenIds),
            param("ignore_eos", ArrowCodec.BOOL, SamplingParams::ignoreEos, SamplingParams.Builder::ignoreEos),
            param("logprobs", ArrowCodec.INT32, SamplingParams::logprobs, SamplingParams.Builder::logprobs),
            param("n", ArrowCodec.INT32, SamplingParams::n, SamplingParams.Builder::n),
            // the format's compact JSON (null = free text); parsing it again hits the engine's compiled-grammar cache
            ArrowColumn.of("response_format", ArrowCodec.NULLABLE_UTF8,
                    r -> r.responseFormat() == null ? null : r.responseFormat().json(),
                    (p, v) -> p.responseFormat = v == null ? null : ResponseFormat.parse(v)),
            ArrowColumn.of("prompt_logprobs", ArrowCodec.INT32, GenerationRequest::promptLogprobs,
                    (p, v) -> p.promptLogprobs = v),
            // a scoring row's labels, their token ids and normalize as one compact JSON text (null = generate): a
            // rare, small, nested value that a JSON text carries in one nullable column, as response_format does
            ArrowColumn.of("labels", ArrowCodec.NULLABLE_UTF8, r -> labelsJson(r.labels()),
                    (p, v) -> p.labels = labelsOf(v)));

    static final Schema SCHEMA = ArrowColumn.schema(ALL);

    private static final ObjectMapper JSON = new ObjectMapper();

    private RequestColumns() {
    }

    private record LabelsJson(List<String> texts, List<int[]> ids, boolean normalize) {
    }

    static String labelsJson(LabelScoring l) {
        if (l == null) {
            return null;
        }
        try {
            return JSON.writeValueAsString(new LabelsJson(l.texts(), l.ids(), l.normalize()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("labels cannot be written as JSON", e);
        }
    }

    static LabelScoring labelsOf(String json) {
        if (json == null) {
            return null;
        }
        try {
            LabelsJson l = JSON.readValue(json, LabelsJson.class);
            return new LabelScoring(l.texts(), l.ids(), l.normalize());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the labels column holds no labels JSON: " + json, e);
        }
    }

    private interface Setter<V> {
        SamplingParams.Builder set(SamplingParams.Builder b, V value);
    }

    private static <V> ArrowColumn<GenerationRequest, Parts> param(String name, ArrowCodec<V> codec,
                                                                  Function<SamplingParams, V> get,
                                                                  Setter<V> set) {
        return ArrowColumn.of(name, codec, r -> get.apply(r.params()), (p, v) -> set.set(p.params, v));
    }
}
