package org.mixtralspark.job;

import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.NumberParam;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.udf.ModelSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The job's options: defaults, then a configuration file ({@code --config}, YAML or properties, keys = long flag
 * names), then the command line, each overriding the one before. Checked when parsed; a bad value throws
 * {@link UsageException} naming the flag.
 */
@Command(name = "mixtral-spark", sortOptions = false, usageHelpAutoWidth = true,
        description = "Turn a table of prompts into a table of generations with a Mixtral-family model on Spark.")
public final class JobOptions {

    public static final List<String> MODES = List.of("error-if-exists", "overwrite", "append", "resume");
    public static final List<String> INPUT_FORMATS = List.of("parquet", "table");
    public static final List<String> OUTPUT_FORMATS = List.of("parquet", "table", "iceberg");

    @Option(names = "--input", description = "Prompts: a Parquet path, or a table name with --input-format table.")
    String input;

    @Option(names = "--input-format", defaultValue = "parquet", description = "parquet | table (default: ${DEFAULT-VALUE}).")
    String inputFormat;

    @Option(names = "--id-col", defaultValue = "id", description = "Id column; unique per row (default: ${DEFAULT-VALUE}).")
    String idCol;

    @Option(names = "--prompt-col", description = "Prompt text column (default: prompt, unless --messages-col).")
    String promptCol;

    @Option(names = "--messages-col", description = "Chat messages column, rendered with the model's chat template.")
    String messagesCol;

    @Option(names = "--model", description = "GGUF file or HF checkpoint folder, as the executors see it.")
    String model;

    @Option(names = "--output", description = "A Parquet path, or a table name with --output-format table|iceberg.")
    String output;

    @Option(names = "--output-format", defaultValue = "parquet", description = "parquet | table | iceberg (default: ${DEFAULT-VALUE}).")
    String outputFormat;

    @Option(names = "--mode", defaultValue = "error-if-exists",
            description = "error-if-exists | overwrite | append | resume (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--partitions", defaultValue = "0", description = "Partitions to spread the prompts over; 0 = Spark's default parallelism.")
    int partitions;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default most new tokens per row (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "Default temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "Default nucleus mass in (0, 1]; 1 = off (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Default top-k; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", description = "Job seed: each row's seed derives from it and the row id (no seed: random).")
    Long seed;

    @Option(names = "--stop", description = "Default stop string (repeat the flag for more).")
    List<String> stop;

    @Option(names = "--response-format", paramLabel = "JSON|@FILE", description = "Default structured output format "
            + "(a response_format JSON text, or @FILE to read it from a file) of a row with no response_format cell; "
            + "none: free text.")
    String responseFormat;

    @Option(names = "--labels", split = ",", paramLabel = "L1,L2,...", description = "Default labels to score "
            + "(comma-separated) for a row with no labels cell: such rows get label (the most likely after the prompt) "
            + "and label_logprobs instead of a generation; none: rows without labels generate.")
    List<String> labels;

    @Option(names = "--n", defaultValue = "1", description = "Default samples per row, 1 to 64 (an n column overrides "
            + "it per row); the prompt is computed once. Above 1, or with an n column, a samples column holds every "
            + "sample and generation is sample 0 (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--explode-samples", description = "One output row per sample, numbered by a sample_index column, "
            + "instead of one row per id with a samples column; --mode resume then keys on (id, sample_index).")
    boolean explodeSamples;

    @Option(names = "--logprobs", defaultValue = "0", description = "Add a logprobs column: each generated token of "
            + "sample 0 with its log-probability and its top K alternatives, K from 0 to 20 (default: ${DEFAULT-VALUE}"
            + " = no column).")
    int logprobs;

    @Option(names = "--device", defaultValue = "auto", description = "auto | cpu | cuda | cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "Engine threads per executor; 0 = the executor's cores.")
    int threads;

    @Option(names = "--max-batch-size", defaultValue = "32", description = "Most sequences per engine step, per executor (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--batch-size", defaultValue = "64", description = "Rows per Arrow batch handed to the engine (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--context-length", defaultValue = "0", description = "Longest prompt + generation; 0 = the model's.")
    int contextLength;

    @Option(names = "--weight-memory", defaultValue = "mapped", description = "CPU: where the weights live: mapped "
            + "(the file's pages, shared by the executors of a node), heap (copied at load: 1.4-2x faster decoding, "
            + "size spark.executor.memory for it) or auto: heap if they fit in the free heap (default: ${DEFAULT-VALUE}).")
    String weightMemory;

    @Option(names = "--kv-cache-memory", defaultValue = "0", converter = ByteSize.class, paramLabel = "SIZE",
            description = "Memory for each executor engine's KV cache (e.g. 2g, 512m); 0 = automatic: enough for "
            + "--max-batch-size full contexts, at most a quarter of the heap on the CPU (default: ${DEFAULT-VALUE}).")
    long kvCacheMemory;

    @Option(names = "--cpu-math", defaultValue = "fast", description = "CPU: the numeric mode of the matrix products: "
            + "fast (int8 activations, as llama.cpp, on the native kernels the job jar carries; the Java kernels where "
            + "they cannot load, said in the executor log) or exact (fp32 activations) (default: ${DEFAULT-VALUE}).")
    String cpuMath;

    @Option(names = "--prefix-cache", arity = "1", defaultValue = "on", converter = OnOff.class, description = "on: a prompt that starts like an earlier one "
            + "on the same executor reuses the keys and values of the shared whole blocks (the output's "
            + "cached_prompt_tokens, the summary's prefix_cache_hit_rate); off: every prompt token is computed "
            + "(default: ${DEFAULT-VALUE}).")
    boolean prefixCache;

    @Option(names = "--sort-prompts", arity = "1", defaultValue = "on", converter = OnOff.class, description = "on: "
            + "within each partition the rows run in the order of their prompt (or messages) text, so that rows "
            + "sharing a head run one after another while its KV blocks are in the prefix cache; no output changes, "
            + "only the order of rows within the output files; off: input order. Only with --prefix-cache on "
            + "(default: ${DEFAULT-VALUE}).")
    boolean sortPrompts;

    @Option(names = "--kv-type", defaultValue = "f16", description = "CPU: how the KV cache stores keys and values: f16 "
            + "(half the memory of f32, as llama.cpp's default), bf16, or f32 (exact) (default: ${DEFAULT-VALUE}).")
    String kvType;

    /** A size as Spark writes them: bytes, or a number with a unit k, m, g or t (powers of 1024). */
    static final class ByteSize implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                long bytes = org.apache.spark.network.util.JavaUtils.byteStringAsBytes(value.trim());
                if (bytes < 0) {
                    throw new NumberFormatException("negative");
                }
                return bytes;
            } catch (RuntimeException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a size: a number of bytes, or "
                        + "one with a unit k, m, g or t, e.g. 512m or 4g");
            }
        }
    }

    /** A switch spelled on|off; true|false too, as YAML 1.1 reads a bare {@code off} in a config file as false. */
    static final class OnOff implements CommandLine.ITypeConverter<Boolean> {
        @Override
        public Boolean convert(String v) {
            switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "on", "true": return true;
                case "off", "false": return false;
                default: throw new CommandLine.TypeConversionException("'" + v + "' is not on or off");
            }
        }
    }

    @Option(names = "--master", description = "Spark master when not run by spark-submit, e.g. local[2].")
    String master;

    @Option(names = "--config", description = "YAML or properties file with any of these options (flags override it).")
    Path config;

    @Option(names = "--summary", description = "Where to write the run summary JSON (default: beside the output).")
    String summary;

    @Option(names = "--routing-stats", paramLabel = "PATH", description = "Also write the expert routing statistics "
            + "(layer x expert token counts, summed over the executors) as JSON to this path.")
    String routingStats;

    @Option(names = "--show", defaultValue = "0", description = "Print this many output rows at the end.")
    int show;

    @Option(names = "--conf", description = "A Spark setting key=value (repeatable).")
    List<String> conf;

    @Option(names = "--iceberg-catalog", defaultValue = "mixtral",
            description = "Name of the Iceberg catalog for --output-format iceberg (default: ${DEFAULT-VALUE}).")
    String icebergCatalog;

    @Option(names = "--iceberg-warehouse", description = "Warehouse folder of a Hadoop Iceberg catalog the job sets "
            + "up when that catalog is not configured already (default: <spark.sql.warehouse.dir>/iceberg).")
    String icebergWarehouse;

    @Option(names = "--break-lock", description = "Remove the output's lock left by a run you know is dead (one on "
            + "another host; a dead run on this host is detected without it).")
    boolean breakLock;

    @Option(names = "--app-name", defaultValue = "mixtral-spark", description = "Spark application name.")
    String appName;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    /** The --response-format JSON once read (from the flag, or the file it names) and checked. */
    private String responseFormatText;

    private JobOptions() {
    }

    /** Parses {@code args}; throws {@link UsageException} with the problem and the usage text. */
    public static JobOptions parse(String... args) {
        JobOptions o = new JobOptions();
        // The last of a repeated flag wins, so a wrapper script can put defaults first.
        CommandLine cl = new CommandLine(o).setOverwrittenOptionsAllowed(true);
        // picocli would replace an argument "@file" by the file's words; "--response-format @schema.json" reads the
        // file itself, whole, as the engine's CLI does
        cl.setExpandAtFiles(false);
        ConfigFile cfg = ConfigFile.empty();
        Path configPath = findConfig(args);
        if (configPath != null) {
            cfg = ConfigFile.load(configPath);
            checkKeys(cl, cfg);
        }
        ConfigFile c = cfg;
        cl.setDefaultValueProvider(arg -> {
            if (arg instanceof OptionSpec opt && !opt.isMultiValue()) {
                return c.value(opt.longestName().substring(2));
            }
            return null;
        });
        CommandLine.ParseResult parsed;
        try {
            parsed = cl.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new UsageException(explained(e, args, configPath), usage(cl));
        }
        if (parsed.isUsageHelpRequested()) {
            throw new UsageException(null, usage(cl));
        }
        if (!parsed.hasMatchedOption("--stop") && cfg.list("stop") != null) {
            o.stop = cfg.list("stop");
        }
        if (!parsed.hasMatchedOption("--conf") && cfg.list("conf") != null) {
            o.conf = cfg.list("conf");
        }
        try {
            o.validate();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), usage(cl));
        }
        return o;
    }

    /**
     * picocli's message, or for a numeric flag the value's problem in our words: picocli calls 1e12 "not an int",
     * where it is a whole number out of range. A value from the config file is named as such.
     */
    private static String explained(CommandLine.ParameterException e, String[] args, Path configPath) {
        // a flag with its own converter (a size, a switch) has said what is wrong already
        if (!(e.getArgSpec() instanceof OptionSpec opt) || e.getValue() == null || opt.converters().length > 0) {
            return e.getMessage();
        }
        String flag = opt.longestName();
        String why = NumberParam.whyNot(flag, e.getValue(), opt.type(), LEAST.getOrDefault(flag, 0));
        if (why == null) {
            return e.getMessage();
        }
        boolean onCommandLine = Arrays.stream(args).anyMatch(a -> a.equals(flag) || a.startsWith(flag + "="));
        return onCommandLine || configPath == null ? why : "--config " + configPath + ": " + why;
    }

    /** The least value of the whole-number flags whose least value is not 0, for out-of-range messages. */
    private static final Map<String, Integer> LEAST = Map.of("--max-new-tokens", 1, "--batch-size", 1,
            "--max-batch-size", 1);

    private static Path findConfig(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        return null;
    }

    private static void checkKeys(CommandLine cl, ConfigFile cfg) {
        Set<String> known = new TreeSet<>();
        for (OptionSpec opt : cl.getCommandSpec().options()) {
            known.add(opt.longestName().substring(2));
        }
        known.remove("config");
        known.remove("help");
        for (String k : cfg.values().keySet()) {
            if (!known.contains(k)) {
                throw new UsageException("--config " + cfg.path() + ": unknown key '" + k + "' (known: "
                        + String.join(", ", known) + ")", null);
            }
        }
    }

    private void validate() {
        require(input != null && !input.isBlank(), "--input is required: a Parquet path or a table name");
        require(model != null && !model.isBlank(), "--model is required: a GGUF file or an HF checkpoint folder");
        require(output != null && !output.isBlank(), "--output is required: a Parquet path or a table name");
        require(INPUT_FORMATS.contains(inputFormat), "--input-format " + inputFormat + ": must be one of " + INPUT_FORMATS);
        require(OUTPUT_FORMATS.contains(outputFormat), "--output-format " + outputFormat + ": must be one of "
                + OUTPUT_FORMATS);
        require(MODES.contains(mode), "--mode " + mode + ": must be one of " + MODES);
        require(promptCol == null || messagesCol == null, "give --prompt-col or --messages-col, not both");
        if (promptCol == null && messagesCol == null) {
            promptCol = "prompt";
        }
        require(partitions >= 0, "--partitions " + partitions + ": must be >= 0 (0 = Spark's default parallelism)");
        require(batchSize >= 1, "--batch-size " + batchSize + ": must be >= 1");
        require(show >= 0, "--show " + show + ": must be >= 0");
        for (String kv : confs().keySet()) {
            require(!kv.isBlank(), "--conf: expected key=value");
        }
        sampling();
        responseFormatText = readResponseFormat();
        // the engine refuses this pair on every row (a stop string could cut the output inside the structure); say so
        // once, up front, rather than with an error row per row
        require(responseFormatText == null || stop == null || stop.isEmpty(),
                "--response-format cannot be combined with --stop " + stop
                        + ": a stop string could end the output inside the structure");
        require(labels == null || responseFormatText == null,
                "--labels cannot be combined with --response-format: a scoring row generates nothing");
        if (labels != null) {
            try {
                org.mixtralspark.udf.GenerateFunction.checkLabels(labels);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--labels " + String.join(",", labels) + ": " + e.getMessage());
            }
        }
        modelSpec();
    }

    /** The --response-format flag's JSON (inline or read from @FILE), checked by the engine's parser; null if unset. */
    private String readResponseFormat() {
        if (responseFormat == null) {
            return null;
        }
        String text = responseFormat;
        if (text.startsWith("@")) {
            try {
                text = Files.readString(Path.of(text.substring(1)), StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("--response-format: cannot read " + text.substring(1) + ": " + e);
            }
        }
        try {
            ResponseFormat.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--response-format: " + e.getMessage(), e);
        }
        return text;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    private static String usage(CommandLine cl) {
        StringWriter w = new StringWriter();
        cl.usage(new PrintWriter(w));
        return w.toString();
    }

    public String input() { return input; }
    public String inputFormat() { return inputFormat; }
    public String idCol() { return idCol; }
    public String promptCol() { return promptCol; }
    public String messagesCol() { return messagesCol; }
    public String output() { return output; }
    public String outputFormat() { return outputFormat; }
    public String mode() { return mode; }
    public int partitions() { return partitions; }
    public int batchSize() { return batchSize; }

    /** Whether each partition's rows run in prompt order: asked for, and of use (the prefix cache is on). */
    public boolean sortsPrompts() { return sortPrompts && prefixCache; }
    public String master() { return master; }
    public String summaryPath() { return summary; }
    public String routingStatsPath() { return routingStats; }
    public int show() { return show; }
    public String icebergCatalog() { return icebergCatalog; }
    public String icebergWarehouse() { return icebergWarehouse; }
    public String appName() { return appName; }
    public boolean breakLock() { return breakLock; }
    /** One output row per sample (with {@code sample_index}) instead of a samples column. */
    public boolean explodeSamples() { return explodeSamples; }

    /**
     * The job's default sampling parameters: what a row gets for a parameter it has no column (or a null cell) for.
     * Validated by the engine's own rules; a bad value throws naming the flag.
     */
    public SamplingParams sampling() {
        try {
            // held as floats by the engine: a double beyond a float's range would be reported as "Infinity"
            return SamplingParams.builder().maxNewTokens(maxNewTokens)
                    .temperature((float) NumberParam.finiteFloat("temperature", temperature))
                    .topP((float) NumberParam.finiteFloat("top_p", topP)).topK(topK).stopStrings(stop).n(n)
                    .logprobs(logprobs).build();
        } catch (IllegalArgumentException e) {
            // SamplingParams names the parameter as a column ("top_p = 2.0: ..."); name the flag instead.
            String m = e.getMessage();
            int eq = m.indexOf(" = ");
            throw new IllegalArgumentException(eq < 0 ? m : "--" + m.substring(0, eq).replace('_', '-')
                    + m.substring(eq), e);
        }
    }

    /**
     * The job's default response_format JSON (the flag's text, or the file's for {@code @FILE}): what a row with no
     * {@code response_format} cell gets; null = free text. Checked when the options are parsed.
     */
    public String responseFormat() {
        return responseFormatText;
    }

    /** The default labels of a row with no {@code labels} cell; null = such rows generate. */
    public List<String> labels() {
        return labels == null ? null : List.copyOf(labels);
    }

    /** The job seed: each row's seed derives from it and the row id; null = a random seed per row. */
    public Long jobSeed() {
        return seed;
    }

    public ModelSpec modelSpec() {
        try {
            return new ModelSpec(model, new EngineOptions(device, threads, maxBatchSize, contextLength)
                    .withKvCacheBytes(kvCacheMemory).withWeightMemory(weightMemory).withCpuMath(cpuMath).withPrefixCache(prefixCache)
                    .withKvType(kvType));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--device/--threads/--max-batch-size/--context-length/--weight-memory/"
                    + "--cpu-math/--kv-type: " + e.getMessage());
        }
    }

    /** Spark settings from --conf key=value. */
    public Map<String, String> confs() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : conf == null ? List.<String>of() : conf) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--conf " + kv + ": expected key=value");
            }
            m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return m;
    }

    /** The effective options, for logs and the summary. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input", input);
        m.put("input_format", inputFormat);
        m.put("id_col", idCol);
        m.put(promptCol != null ? "prompt_col" : "messages_col", promptCol != null ? promptCol : messagesCol);
        m.put("model", model);
        m.put("device", device);
        m.put("output", output);
        m.put("output_format", outputFormat);
        m.put("mode", mode);
        m.put("partitions", partitions);
        m.put("max_new_tokens", maxNewTokens);
        m.put("temperature", temperature);
        m.put("top_p", topP);
        m.put("top_k", topK);
        m.put("seed", seed);
        m.put("stop", stop == null ? List.of() : new ArrayList<>(stop));
        m.put("response_format", responseFormat);
        m.put("labels", labels == null ? List.of() : new ArrayList<>(labels));
        m.put("n", n);
        m.put("explode_samples", explodeSamples);
        m.put("logprobs", logprobs);
        m.put("batch_size", batchSize);
        m.put("max_batch_size", maxBatchSize);
        m.put("prefix_cache", prefixCache ? "on" : "off");
        m.put("sort_prompts", sortsPrompts() ? "on" : "off");
        m.put("kv_type", kvType);
        m.put("kv_cache_memory", kvCacheMemory);
        return m;
    }

    /** Bad options: the message names the flag; {@code usage} is the help text (or null). */
    public static final class UsageException extends RuntimeException {
        private final String usage;

        UsageException(String message, String usage) {
            super(message);
            this.usage = usage;
        }

        public String usage() {
            return usage;
        }
    }
}
