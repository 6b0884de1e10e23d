package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.TokenLogprob;

import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.sampling.SequenceSampler;
import org.mixtralspark.engine.sampling.StopConditions;
import org.mixtralspark.engine.tokenizer.StreamingDecoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One request while the engine runs it: its tokens (prompt, then generated), how many of them are in the KV cache,
 * its sampler, stop conditions and text so far. Owned by the engine's step thread.
 */
final class Sequence {

    final GenerationRequest request;
    final CompletableFuture<GenerationResult> future;
    final long arrivalNanos;

    /** Its blocks in the runner's paged KV cache. */
    final BlockTable table = new BlockTable();
    /** Times its cache was taken back to make room (it then recomputes its tokens). */
    int preemptions;
    SequenceSampler sampler;
    StopConditions stops;
    StreamingDecoder decoder;

    /** Prompt ids followed by generated ids (a final EOS / stop id included). */
    int[] tokens;
    int length;
    /** Tokens whose keys and values are in the cache. */
    int computed;
    final StringBuilder text = new StringBuilder();
    final List<TokenLogprob> logprobs = new ArrayList<>();
    boolean dropLastToken;
    long prefillNanos;
    long decodeNanos;

    Sequence(GenerationRequest request, CompletableFuture<GenerationResult> future) {
        this.request = request;
        this.future = future;
        this.arrivalNanos = System.nanoTime();
        this.tokens = request.promptIds();
        this.length = tokens.length;
    }

    int promptLength() {
        return request.promptLength();
    }

    boolean inPrefill() {
        return computed < promptLength();
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(8, tokens.length * 2));
        }
        tokens[length++] = token;
    }

    GenerationResult result() {
        return result(stops.finishReason());
    }

    /** The result so far, ended for {@code reason} (e.g. LENGTH when the KV cache cannot hold another position). */
    GenerationResult result(FinishReason reason) {
        int generatedEnd = dropLastToken ? length - 1 : length;
        int[] generated = Arrays.copyOfRange(tokens, promptLength(), generatedEnd);
        return new GenerationResult(request.id(), request.promptIds(), generated, text.toString(),
                reason, logprobs, null, prefillNanos, decodeNanos);
    }

    boolean hasGenerated() {
        return length > promptLength();
    }
}
