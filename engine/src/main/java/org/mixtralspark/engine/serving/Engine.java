package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.tokenizer.ChatTemplate;
import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A loaded model that completes prompts. Thread-safe: any number of callers may submit at once, and their requests
 * share the engine's running batch. One engine per model per JVM is the intended use (it holds the mapped weights
 * and the KV cache).
 */
public interface Engine extends AutoCloseable {

    /** What was loaded: architecture, sizes, the file it came from. */
    ModelDescription model();

    Tokenizer tokenizer();

    /** The model's chat template (from its tokenizer config or GGUF metadata), or Mixtral-Instruct's by default. */
    ChatTemplate chatTemplate();

    /**
     * Queues a request. The future completes with its result; a request that cannot be run (prompt longer than the
     * context, say) completes normally with {@link FinishReason#ERROR}, never exceptionally.
     */
    CompletableFuture<GenerationResult> submit(GenerationRequest request);

    /**
     * Queues the {@link org.mixtralspark.engine.sampling.SamplingParams#n() n} samples of {@code request}
     * ({@link Samples#of}): one is {@link #submit}ted as it is; more share one computation of the prompt
     * ({@link #submitSamples}). The future completes with the n results in sample order, each one what
     * {@link #submit} of that sample alone gives; a request that cannot be run gives n error results.
     */
    default CompletableFuture<List<GenerationResult>> submitN(GenerationRequest request) {
        List<GenerationRequest> samples = Samples.of(request);
        List<CompletableFuture<GenerationResult>> futures = samples.size() == 1 ? List.of(submit(samples.get(0)))
                : submitSamples(samples);
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(done -> futures.stream().map(CompletableFuture::join).toList());
    }

    /**
     * Queues samples of one prompt (n completions, or one per candidate's parameters): every request has the same
     * prompt ids and its own id and sampling parameters. The engine computes the prompt once and forks it into one
     * sequence per request, sharing its KV blocks (copy-on-write); each result is what {@link #submit} of that request
     * alone gives, bit for bit. This default submits them one by one (no sharing), for engines that cannot fork.
     *
     * @throws IllegalArgumentException when the list is empty, the prompts differ or a request asks for n > 1 (expand
     *                                  it first: {@link Samples#of})
     */
    default List<CompletableFuture<GenerationResult>> submitSamples(List<GenerationRequest> samples) {
        checkSamples(samples);
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>(samples.size());
        for (GenerationRequest r : samples) {
            futures.add(submit(r));
        }
        return futures;
    }

    /** What {@link #submitSamples} accepts: at least one request, all with the first one's prompt. */
    static void checkSamples(List<GenerationRequest> samples) {
        if (samples == null || samples.isEmpty()) {
            throw new IllegalArgumentException("samples: at least one request");
        }
        int[] prompt = samples.get(0).promptIds();
        for (GenerationRequest r : samples) {
            if (!java.util.Arrays.equals(prompt, r.promptIds())) {
                throw new IllegalArgumentException("samples: request " + r.id() + " has another prompt than "
                        + samples.get(0).id() + "; samples share one prompt");
            }
            if (r.params().n() != 1) {
                throw new IllegalArgumentException("samples: request " + r.id() + " asks for n = " + r.params().n()
                        + "; each sample is one request with n = 1 (Samples.of)");
            }
        }
    }

    /** Runs these requests together and returns their results in the same order. */
    default List<GenerationResult> generate(List<GenerationRequest> requests) {
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>(requests.size());
        for (GenerationRequest r : requests) {
            futures.add(submit(r));
        }
        List<GenerationResult> results = new ArrayList<>(requests.size());
        for (CompletableFuture<GenerationResult> f : futures) {
            results.add(f.join());
        }
        return results;
    }

    /** Counters since the engine was opened. */
    EngineStats stats();

    /**
     * Expert token counts (layer x expert) of every token computed since the engine was opened; unavailable, with
     * the reason, where the backend does not record routing.
     */
    default RoutingCounts routingCounts() {
        return RoutingCounts.unavailable("this engine does not record expert routing");
    }

    /**
     * Starts or stops keeping each computed token's routing per request ({@link #tokenRoutes}). Off by default: it
     * keeps k experts and weights per token per layer for as long as the engine lives.
     */
    default void recordTokenRoutes(boolean on) {
        throw new UnsupportedOperationException("this engine does not record per-token routing");
    }

    /** The routing of each token computed while {@link #recordTokenRoutes} was on, in computation order. */
    default List<TokenRoute> tokenRoutes() {
        return List.of();
    }

    /** Stops the scheduler (pending requests complete with ERROR) and releases memory. Idempotent. */
    @Override
    void close();
}
