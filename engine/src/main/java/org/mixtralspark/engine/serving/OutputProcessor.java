package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.constrain.ConstrainedDecoding;
import org.mixtralspark.engine.constrain.TokenMasks;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SequenceSampler;
import org.mixtralspark.engine.sampling.StopConditions;
import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine's output side (vLLM's {@code OutputProcessor}): turns a sequence's next-token logits into its next token
 * (sampling), its text (detokenisation) and its end (stop conditions), and completes its caller's future. Owns every
 * {@link Generation}; never touches the scheduler's state. Runs on the engine's step thread.
 */
final class OutputProcessor {

    private final Tokenizer tokenizer;
    private final int vocab;
    private final int contextLength;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong forcedTokens = new AtomicLong();
    private final ConstrainedDecoding constrained;

    OutputProcessor(Tokenizer tokenizer, int vocab, int contextLength) {
        this.tokenizer = tokenizer;
        this.vocab = vocab;
        this.contextLength = contextLength;
        this.constrained = new ConstrainedDecoding(tokenizer, vocab);
    }

    /** Sets up the sampler, stop conditions and detokeniser of a new sequence (throws for bad parameters). */
    void start(Sequence s) {
        Generation g = s.generation;
        g.sampler = new SequenceSampler(s.request.params(), s.request.promptIds(), vocab);
        g.stops = new StopConditions(s.request.params(), tokenizer.eosId(), s.promptLength(), contextLength);
        g.decoder = tokenizer.streamingDecoder();
        if (s.request.responseFormat() != null) {
            g.constraint = constrained.start(s.request.responseFormat(), s.request.params().stopTokenIds());
        }
    }

    /**
     * Samples the next token of {@code s} from its logits and applies the stop conditions to it; the caller appends
     * the token to the sequence, and completes it ({@link #complete}) when {@link #finished} says so.
     */
    int next(Sequence s, float[] logits) {
        Generation g = s.generation;
        int topN = s.request.params().logprobs();
        int token;
        if (g.constraint == null) {
            token = g.sampler.sample(logits);
        } else {
            // structured output: only tokens that keep the text a valid prefix; a forced token skips sampling
            TokenMasks.Mask allowed = g.constraint.allowed();
            if (allowed.only() >= 0 && topN == 0) {
                token = allowed.only();
                forcedTokens.incrementAndGet();
            } else {
                token = g.sampler.sample(logits, allowed.bits());
            }
            g.constraint.accept(token);
        }
        if (topN > 0) {
            g.logprobs.add(g.sampler.logprob(token, topN));
        }
        g.sampler.accept(token);
        generatedTokens.incrementAndGet();
        String piece = g.decoder.push(token);
        g.text.append(g.stops.accept(token, piece));
        if (g.stops.finished()) {
            int[] stopIds = s.request.params().stopTokenIds();
            g.dropLastToken = (token == tokenizer.eosId() && !s.request.params().ignoreEos())
                    || Arrays.stream(stopIds).anyMatch(id -> id == token);
            boolean stoppedByString = g.stops.finishReason() == FinishReason.STOP && !g.dropLastToken;
            if (!stoppedByString) {
                // bytes of an unfinished UTF-8 character come out as U+FFFD, as a one-shot decode gives them
                g.text.append(g.decoder.flush());
            }
        }
        return token;
    }

    boolean finished(Sequence s) {
        return s.generation.stops.finished();
    }

    /** Completes {@code s} for the reason its stop conditions give. */
    void complete(Sequence s) {
        requests.incrementAndGet();
        s.generation.future.complete(s.generation.result(s, s.generation.stops.finishReason()));
    }

    /** Completes a request that sampled nothing (a scoring request) with its result. */
    void complete(Generation g, GenerationResult result) {
        requests.incrementAndGet();
        g.future.complete(result);
    }

    /** Ends {@code s} early, keeping what it generated, as a context limit ends it (the KV cache cannot grow it). */
    void completeForLength(Sequence s) {
        requests.incrementAndGet();
        s.generation.text.append(s.generation.decoder.flush());
        s.generation.future.complete(s.generation.result(s, FinishReason.LENGTH));
    }

    /** Fails {@code s} with {@code e}'s message. */
    void fail(Sequence s, Throwable e) {
        fail(s, e.getMessage() == null ? e.toString() : e.getMessage());
    }

    void fail(Sequence s, String message) {
        requests.incrementAndGet();
        s.generation.future.complete(GenerationResult.failed(s.request.id(), s.request.promptIds(), message));
    }

    /** Requests ended so far (completed or failed). */
    long requests() {
        return requests.get();
    }

    long generatedTokens() {
        return generatedTokens.get();
    }

    /** Tokens of structured output that were the only one allowed, so not sampled. */
    long forcedTokens() {
        return forcedTokens.get();
    }
}
