package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.NumberParam;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.Prompts;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** One line of a batch-mode JSONL file to a {@link GenerationRequest}; unknown fields are errors, not ignored. */
final class BatchRequests {

    private static final Set<String> FIELDS = Set.of("id", "prompt", "prompt_ids", "messages", "max_new_tokens",
            "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty",
            "seed", "stop", "stop_token_ids", "ignore_eos", "logprobs", "response_format", "prompt_logprobs", "labels",
            "normalize", "n");

    private BatchRequests() {
    }

    /**
     * @param defaultFormat the response format of a line without {@code response_format} (null: free text); a line's
     *                      {@code response_format} is a JSON object, or a string holding one, or null for free text
     */
    static GenerationRequest parse(Engine engine, JsonNode n, String id, SamplingParams defaults,
                                   ResponseFormat defaultFormat) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new IllegalArgumentException("unknown field \"" + f + "\"; known fields: " + FIELDS);
            }
        }
        int sources = (n.has("prompt") ? 1 : 0) + (n.has("prompt_ids") ? 1 : 0) + (n.has("messages") ? 1 : 0);
        if (sources != 1) {
            throw new IllegalArgumentException("exactly one of prompt, prompt_ids, messages is needed");
        }
        int[] ids;
        if (n.has("prompt")) {
            if (!n.get("prompt").isTextual()) {
                throw new IllegalArgumentException("prompt must be a string");
            }
            ids = Prompts.fromText(engine, n.get("prompt").asText());
        } else if (n.has("prompt_ids")) {
            ids = intArray(n.get("prompt_ids"), "prompt_ids");
        } else {
            ids = Prompts.fromMessages(engine, GenerateCommand.parseMessages(n.get("messages")));
        }
        SamplingParams.Builder b = defaults.toBuilder();
        if (n.has("max_new_tokens")) b.maxNewTokens(integer(n, "max_new_tokens", 1));
        if (n.has("temperature")) b.temperature(number(n, "temperature"));
        if (n.has("top_k")) b.topK(integer(n, "top_k", 0));
        if (n.has("top_p")) b.topP(number(n, "top_p"));
        if (n.has("min_p")) b.minP(number(n, "min_p"));
        if (n.has("repetition_penalty")) b.repetitionPenalty(number(n, "repetition_penalty"));
        if (n.has("presence_penalty")) b.presencePenalty(number(n, "presence_penalty"));
        if (n.has("frequency_penalty")) b.frequencyPenalty(number(n, "frequency_penalty"));
        if (n.has("seed")) b.seed(n.get("seed").isNull() ? null : NumberParam.wholeLong("seed", numeric(n, "seed")));
        if (n.has("stop")) b.stopStrings(strings(n.get("stop")));
        if (n.has("stop_token_ids")) b.stopTokenIds(intArray(n.get("stop_token_ids"), "stop_token_ids"));
        if (n.has("ignore_eos")) b.ignoreEos(n.get("ignore_eos").asBoolean());
        if (n.has("logprobs")) b.logprobs(integer(n, "logprobs", 0));
        if (n.has("n")) b.n(integer(n, "n", 1));
        ResponseFormat format = defaultFormat;
        if (n.has("response_format")) {
            JsonNode f = n.get("response_format");
            format = f.isNull() ? null : f.isTextual() ? ResponseFormat.parse(f.textValue()) : ResponseFormat.of(f);
        }
        GenerationRequest r = new GenerationRequest(id, ids, b.build(), format);
        if (n.has("prompt_logprobs") && !n.get("prompt_logprobs").isNull()) {
            r = r.withPromptLogprobs(integer(n, "prompt_logprobs", 0));
        }
        if (n.has("normalize") && !n.has("labels")) {
            throw new IllegalArgumentException("normalize applies to labels only; this line has none");
        }
        if (n.has("labels") && !n.get("labels").isNull()) {
            JsonNode l = n.get("labels");
            if (!l.isArray()) {
                throw new IllegalArgumentException("labels must be an array of strings");
            }
            List<String> labels = new ArrayList<>();
            for (JsonNode x : l) {
                if (!x.isTextual()) {
                    throw new IllegalArgumentException("labels must be an array of strings, got " + x);
                }
                labels.add(x.textValue());
            }
            r = r.withLabels(Prompts.labels(engine, labels, n.has("normalize") && n.get("normalize").asBoolean()));
        }
        return r;
    }

    /** A whole-number field; {@code min} is its least value, for the out-of-range message. */
    private static int integer(JsonNode n, String f, int min) {
        return NumberParam.wholeInt(f, numeric(n, f), min);
    }

    private static float number(JsonNode n, String f) {
        return (float) NumberParam.finiteFloat(f, numeric(n, f));
    }

    /** A field's JSON number (1e12 is a double, 10000000000 a long, more a BigInteger), for {@link NumberParam}. */
    private static Number numeric(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (!v.isNumber()) {
            throw new IllegalArgumentException(f + " = " + v + ": not a number");
        }
        return v.numberValue();
    }

    private static int[] intArray(JsonNode v, String f) {
        if (v == null || !v.isArray()) {
            throw new IllegalArgumentException(f + " must be an array of integers");
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).canConvertToInt() || !v.get(i).isIntegralNumber()) {
                throw new IllegalArgumentException(f + "[" + i + "] is not an integer: " + v.get(i));
            }
            out[i] = v.get(i).asInt();
        }
        return out;
    }

    private static List<String> strings(JsonNode v) {
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            for (JsonNode s : v) {
                out.add(s.asText());
            }
        } else if (!v.isNull()) {
            throw new IllegalArgumentException("stop must be a string or an array of strings");
        }
        return out;
    }
}
