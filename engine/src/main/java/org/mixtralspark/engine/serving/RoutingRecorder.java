package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.backend.StepOutput;
import org.mixtralspark.engine.model.mixtral.Routing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The engine's routing statistics: adds up each step's expert token counts ({@link StepOutput#expertTokens}), and,
 * when asked ({@link #recordTokens}; off by default: k ints and floats per token per layer), keeps each computed
 * token's routing per request. Written by the step thread, read by any thread.
 */
final class RoutingRecorder {

    /** Why a backend without routing output has no counts. */
    static final String NOT_RECORDED = "the %s backend does not record expert routing (only the CPU backend does "
            + "so far): run with --device cpu for routing statistics";

    private final int layers;
    private final int experts;
    private final int k;
    private final String device;
    private final long[][] counts;
    private boolean missing;
    private volatile boolean perToken;
    private final List<TokenRoute> routes = new ArrayList<>();

    RoutingRecorder(int layers, int experts, int k, String device) {
        this.layers = layers;
        this.experts = experts;
        this.k = k;
        this.device = device;
        this.counts = new long[layers][experts];
    }

    void recordTokens(boolean on) {
        perToken = on;
    }

    /** Adds one step; {@code requestIds} are the ids of the step's sequences, in the step's order. */
    synchronized void add(StepInput input, List<String> requestIds, StepOutput out) {
        if (out.expertTokens() == null) {
            missing = true;
            return;
        }
        for (int l = 0; l < layers; l++) {
            int[] step = out.expertTokens()[l];
            for (int e = 0; e < experts; e++) {
                counts[l][e] += step[e];
            }
        }
        if (perToken && out.routings() != null) {
            StepInput.Tokens t = input.tokens();
            for (int i = 0; i < t.ids().length; i++) {
                String id = requestIds.get(t.sequenceOf()[i]);
                for (int l = 0; l < layers; l++) {
                    Routing r = out.routings()[l];
                    int from = i * r.k();
                    routes.add(new TokenRoute(id, t.positions()[i], t.ids()[i], l,
                            Arrays.copyOfRange(r.expertIds(), from, from + r.k()),
                            Arrays.copyOfRange(r.weights(), from, from + r.k())));
                }
            }
        }
    }

    synchronized RoutingCounts counts() {
        if (missing) {
            return RoutingCounts.unavailable(String.format(NOT_RECORDED, device));
        }
        long[][] copy = new long[layers][];
        for (int l = 0; l < layers; l++) {
            copy[l] = counts[l].clone();
        }
        return new RoutingCounts(layers, experts, k, copy, null);
    }

    synchronized List<TokenRoute> tokenRoutes() {
        return List.copyOf(routes);
    }
}
