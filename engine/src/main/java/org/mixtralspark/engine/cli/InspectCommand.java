package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code mixtral inspect}: what a model file holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print a model's configuration and tensors (types, shapes, bytes).")
final class InspectCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel m = ModelLoader.load(model)) {
            MixtralConfig c = m.config();
            List<Map<String, Object>> tensors = new ArrayList<>();
            long bytes = 0;
            for (TensorInfo t : m.source().tensors().values()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", t.name());
                o.put("type", t.type().name());
                o.put("shape", t.shape());
                o.put("bytes", t.byteSize());
                tensors.add(o);
                bytes += t.byteSize();
            }
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("path", m.path().toString());
            o.put("format", m.format());
            o.put("name", m.name());
            o.put("config", c);
            o.put("tensor_count", tensors.size());
            o.put("tensor_bytes", bytes);
            o.put("active_weight_bytes_per_token", m.weights().activeBytesPerToken());
            o.put("tensors", tensors);
            if (json) {
                out.println(Json.write(o));
                return 0;
            }
            out.printf("%s (%s, %s)%n", m.name(), m.format(), m.path());
            out.printf("  vocab %d, dim %d, hidden %d, layers %d, heads %d/%d kv, head dim %d, experts %d (top %d),"
                            + " rope theta %.0f, rms eps %g, context %d%n",
                    c.vocabSize(), c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(),
                    c.experts(), c.expertsUsed(), c.ropeTheta(), c.rmsEps(), c.contextLength());
            if (!c.ropeScaling().isNone()) {
                out.printf("  rope scaling %s%n", c.ropeScaling());
            }
            out.printf("  %d tensors, %,d bytes; %,d bytes of weights read per token%n", tensors.size(), bytes,
                    m.weights().activeBytesPerToken());
            for (TensorInfo t : m.source().tensors().values()) {
                out.printf("  %-48s %-6s %-22s %,d%n", t.name(), t.type(), t.shapeString(), t.byteSize());
            }
            return 0;
        }
    }
}
