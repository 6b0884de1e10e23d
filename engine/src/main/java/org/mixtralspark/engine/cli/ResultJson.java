package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.LabelScores;
import org.mixtralspark.engine.sampling.TokenLogprob;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON object {@code generate --json} prints for one result (and each line of batch mode). */
final class ResultJson {

    private ResultJson() {
    }

    /**
     * The object of a request's samples: sample 0's fields as for a single result and, when there are several,
     * {@code samples}: every sample's {@code text}, {@code finish_reason} and {@code completion_tokens} (and
     * {@code error} for a failed one), sample 0 first.
     */
    static Map<String, Object> of(List<GenerationResult> samples) {
        Map<String, Object> o = of(samples.get(0));
        if (samples.size() > 1) {
            List<Map<String, Object>> all = new ArrayList<>(samples.size());
            for (GenerationResult s : samples) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("text", s.text());
                m.put("finish_reason", s.finishReason().wireName());
                m.put("completion_tokens", s.tokenIds().length);
                if (!s.ok()) {
                    m.put("error", s.error());
                }
                all.add(m);
            }
            o.put("samples", all);
        }
        return o;
    }

    static Map<String, Object> of(GenerationResult r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("prompt_token_ids", r.promptIds());
        o.put("token_ids", r.tokenIds());
        o.put("text", r.text());
        o.put("finish_reason", r.finishReason().wireName());
        o.put("cached_prompt_tokens", r.cachedPromptTokens());
        o.put("logprobs", logprobs(r.logprobs()));
        if (!r.promptLogprobs().isEmpty()) {
            o.put("prompt_logprobs", logprobs(r.promptLogprobs()));
        }
        o.put("label", r.labelScores() == null ? null : r.labelScores().best());
        o.put("labels", r.labelScores() == null ? null : labels(r.labelScores()));
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("prefill_tokens_per_s", rate(r.promptIds().length, r.prefillNanos()));
        timings.put("decode_tokens_per_s", rate(Math.max(0, r.tokenIds().length - 1), r.decodeNanos()));
        timings.put("prefill_ms", r.prefillNanos() / 1e6);
        timings.put("decode_ms", r.decodeNanos() / 1e6);
        o.put("timings", timings);
        return o;
    }

    private static List<Map<String, Object>> logprobs(List<TokenLogprob> list) {
        List<Map<String, Object>> lps = new ArrayList<>();
        for (TokenLogprob lp : list) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("token_id", lp.tokenId());
            m.put("logprob", lp.logprob());
            List<Map<String, Object>> top = new ArrayList<>();
            for (TokenLogprob.Alternative a : lp.top()) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("token_id", a.tokenId());
                t.put("logprob", a.logprob());
                top.add(t);
            }
            m.put("top", top);
            lps.add(m);
        }
        return lps;
    }

    /** Each label's score as {@code score --json} and batch lines write it: label, logprob, token_logprobs. */
    static List<Map<String, Object>> labels(LabelScores scores) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (LabelScores.Label l : scores.labels()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", l.label());
            m.put("logprob", l.logprob());
            m.put("token_logprobs", l.tokenLogprobs());
            out.add(m);
        }
        return out;
    }

    private static double rate(long tokens, long nanos) {
        return nanos <= 0 ? 0.0 : tokens * 1e9 / nanos;
    }
}
