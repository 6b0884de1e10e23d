package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.RoutingCounts;
import org.mixtralspark.engine.serving.RoutingReport;

import java.nio.file.Path;

/** {@code --routing-stats PATH}: writes an engine's routing statistics, and says so when the backend has none. */
final class RoutingStatsFile {

    private RoutingStatsFile() {
    }

    static void write(Engine engine, Path file) {
        RoutingCounts counts = engine.routingCounts();
        if (!counts.available()) {
            System.err.println("mixtral: no routing statistics: " + counts.unavailable());
        }
        RoutingReport.write(file, counts, engine.tokenRoutes(), id -> engine.tokenizer().decode(new int[] {id}));
    }
}
