package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mixtral eval passkey}: retrieval accuracy of a random number hidden in filler text ({@link PasskeyPrompt}), for
 * each prompt length and needle depth: greedy continuation of the question, correct when it contains the number. With
 * random weights the accuracy is meaningless; the tests check the mechanics.
 */
@Command(name = "passkey", mixinStandardHelpOptions = true,
        description = "Passkey retrieval accuracy by prompt length and needle depth (greedy decoding).")
final class PasskeyCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF checkpoint folder or GGUF file.")
    Path model;

    @Option(names = "--lengths", required = true, split = ",", paramLabel = "L1,L2,...",
            description = "Prompt lengths in tokens, e.g. 1024,4096,16384.")
    int[] lengths;

    @Option(names = "--depths", split = ",", paramLabel = "D1,D2,...", defaultValue = "0,0.25,0.5,0.75,1",
            description = "Needle depths in the filler, 0 (start) to 1 (end) (default: ${DEFAULT-VALUE}).")
    double[] depths;

    @Option(names = "--trials", defaultValue = "5", description = "Prompts per length and depth, each with its own "
            + "number (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the numbers (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    EngineOptionsMixin engineOptions;

    /** The figures at one length and depth. */
    record Cell(int length, double depth, int trials, int correct) {
        double accuracy() {
            return trials == 0 ? 0 : (double) correct / trials;
        }
    }

    @Override
    public Integer call() {
        if (trials < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--trials " + trials + ": must be >= 1");
        }
        for (double d : depths) {
            if (!(d >= 0 && d <= 1)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--depths: " + d + " is not in [0, 1]");
            }
        }
        try (Engine engine = Engines.open(model, engineOptions.toOptions())) {
            List<Cell> cells = run(engine, lengths, depths, trials, seed);
            print(cells);
        }
        return 0;
    }

    /** Runs every prompt (all submitted at once, so they share the batch) and counts the correct answers per cell. */
    static List<Cell> run(Engine engine, int[] lengths, double[] depths, int trials, long seed) {
        Random rnd = new Random(seed);
        SamplingParams greedy = SamplingParams.builder().greedy().maxNewTokens(12).build();
        List<Cell> cells = new ArrayList<>();
        List<List<CompletableFuture<GenerationResult>>> futures = new ArrayList<>();
        List<List<String>> keys = new ArrayList<>();
        for (int l : lengths) {
            for (double d : depths) {
                List<CompletableFuture<GenerationResult>> fs = new ArrayList<>();
                List<String> ks = new ArrayList<>();
                for (int t = 0; t < trials; t++) {
                    String key = String.valueOf(10000 + rnd.nextInt(90000));
                    PasskeyPrompt p = PasskeyPrompt.build(engine.tokenizer(), l, d, key);
                    fs.add(engine.submit(new GenerationRequest("passkey-" + l + "-" + d + "-" + t, p.ids(), greedy)));
                    ks.add(key);
                }
                cells.add(new Cell(l, d, trials, 0));
                futures.add(fs);
                keys.add(ks);
            }
        }
        List<Cell> out = new ArrayList<>();
        for (int c = 0; c < cells.size(); c++) {
            int correct = 0;
            for (int t = 0; t < trials; t++) {
                GenerationResult r = futures.get(c).get(t).join();
                if (!r.ok()) {
                    throw new IllegalStateException("passkey prompt of " + cells.get(c).length() + " tokens: "
                            + r.error());
                }
                correct += r.text().contains(keys.get(c).get(t)) ? 1 : 0;
            }
            out.add(new Cell(cells.get(c).length(), cells.get(c).depth(), trials, correct));
        }
        return out;
    }

    private void print(List<Cell> cells) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int correct = cells.stream().mapToInt(Cell::correct).sum();
        int total = cells.stream().mapToInt(Cell::trials).sum();
        if (json) {
            List<Map<String, Object>> rs = new ArrayList<>();
            for (Cell c : cells) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("length", c.length());
                m.put("depth", c.depth());
                m.put("trials", c.trials());
                m.put("correct", c.correct());
                m.put("accuracy", c.accuracy());
                rs.add(m);
            }
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("results", rs);
            o.put("accuracy", (double) correct / total);
            out.println(Json.write(o));
            return;
        }
        out.printf("%-8s %-6s %-7s %-8s %s%n", "length", "depth", "trials", "correct", "accuracy");
        for (Cell c : cells) {
            out.printf("%-8d %-6.2f %-7d %-8d %.3f%n", c.length(), c.depth(), c.trials(), c.correct(), c.accuracy());
        }
        out.printf("overall accuracy %.3f (%d of %d)%n", (double) correct / total, correct, total);
    }
}
