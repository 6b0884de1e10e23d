package org.mixtralspark.engine.serving;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Writes routing statistics as one JSON file, a small table a notebook loads with {@code pandas.DataFrame}:
 * <pre>
 * {"available": true, "layers": L, "experts": E, "experts_per_token": k,
 *  "counts": [{"layer": 0, "expert": 0, "tokens": 17}, ...],                  (L x E rows)
 *  "token_routes": [{"request": "0", "position": 3, "token_id": 281, "piece": "the", "layer": 0,
 *                    "experts": [5, 1], "weights": [0.61, 0.39]}, ...]}      (only when recorded)
 * </pre>
 * or {@code {"available": false, "reason": "..."}} when the backend recorded nothing.
 */
public final class RoutingReport {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private RoutingReport() {
    }

    /**
     * @param routes per-token rows, empty when not recorded
     * @param piece  the text of a token id (e.g. the tokenizer's decoding of that one id), or null for none
     */
    public static Map<String, Object> toMap(RoutingCounts counts, List<TokenRoute> routes, IntFunction<String> piece) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("available", counts.available());
        if (!counts.available()) {
            o.put("reason", counts.unavailable());
            return o;
        }
        o.put("layers", counts.layers());
        o.put("experts", counts.experts());
        o.put("experts_per_token", counts.k());
        List<Map<String, Object>> rows = new ArrayList<>(counts.layers() * counts.experts());
        for (int l = 0; l < counts.layers(); l++) {
            for (int e = 0; e < counts.experts(); e++) {
                rows.add(Map.of("layer", l, "expert", e, "tokens", counts.tokens()[l][e]));
            }
        }
        o.put("counts", rows);
        if (!routes.isEmpty()) {
            List<Map<String, Object>> tokens = new ArrayList<>(routes.size());
            for (TokenRoute r : routes) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("request", r.requestId());
                t.put("position", r.position());
                t.put("token_id", r.tokenId());
                if (piece != null) {
                    t.put("piece", piece.apply(r.tokenId()));
                }
                t.put("layer", r.layer());
                t.put("experts", r.experts());
                t.put("weights", r.weights());
                tokens.add(t);
            }
            o.put("token_routes", tokens);
        }
        return o;
    }

    /** {@link #toMap} as indented JSON text (for writers that are not local files, e.g. a Hadoop file system). */
    public static String json(RoutingCounts counts, List<TokenRoute> routes, IntFunction<String> piece) {
        try {
            return JSON.writeValueAsString(toMap(counts, routes, piece));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@link #toMap} to {@code file}, creating its folder; the error names the file. */
    public static void write(Path file, RoutingCounts counts, List<TokenRoute> routes, IntFunction<String> piece) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            JSON.writeValue(file.toFile(), toMap(counts, routes, piece));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the routing statistics to " + file + ": " + e.getMessage(), e);
        }
    }
}
