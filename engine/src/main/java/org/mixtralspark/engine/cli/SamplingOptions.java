package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.sampling.SamplingParams;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** The sampling flags of {@code generate}; in batch mode they are the defaults that each line may override. */
final class SamplingOptions {

    @Option(names = "--max-new-tokens", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxNewTokens = 64;

    @Option(names = "--temperature", description = "0 = greedy (default ${DEFAULT-VALUE}).")
    float temperature = 1.0f;

    @Option(names = "--top-k", description = "Keep the k most likely tokens; 0 = off.")
    int topK = 0;

    @Option(names = "--top-p", description = "Nucleus sampling; 1 = off.")
    float topP = 1.0f;

    @Option(names = "--min-p", description = "Drop tokens below min-p x the top probability; 0 = off.")
    float minP = 0.0f;

    @Option(names = "--repetition-penalty", description = "1 = off.")
    float repetitionPenalty = 1.0f;

    @Option(names = "--presence-penalty")
    float presencePenalty = 0.0f;

    @Option(names = "--frequency-penalty")
    float frequencyPenalty = 0.0f;

    @Option(names = "--seed", description = "Seed of the random stream (default: random).")
    Long seed;

    @Option(names = "--stop", description = "Stop string (repeatable); the text never contains it.")
    List<String> stop = new ArrayList<>();

    @Option(names = "--stop-token-id", split = ",", description = "Stop token ids.")
    int[] stopTokenIds = new int[0];

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token.")
    boolean ignoreEos;

    @Option(names = "--logprobs", description = "Report the log-probability of each token and its top K alternatives.")
    int logprobs = 0;

    SamplingParams.Builder builder() {
        return SamplingParams.builder()
                .maxNewTokens(maxNewTokens)
                .temperature(temperature)
                .topK(topK)
                .topP(topP)
                .minP(minP)
                .repetitionPenalty(repetitionPenalty)
                .presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty)
                .seed(seed)
                .stopStrings(stop)
                .stopTokenIds(stopTokenIds)
                .ignoreEos(ignoreEos)
                .logprobs(logprobs);
    }
}
