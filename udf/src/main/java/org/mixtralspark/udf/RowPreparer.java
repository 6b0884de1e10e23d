package org.mixtralspark.udf;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.sampling.ContextLimit;
import org.mixtralspark.engine.sampling.NumberParam;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.Prompts;
import org.mixtralspark.udf.PreparedRow.ParamsUsed;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns an input row into an engine request: reads the per-row parameters (a null cell takes the job's default),
 * derives the row's seed, builds the row's one {@link SamplingParams} (the job's defaults with the row's values),
 * turns the prompt or the chat messages into token ids through the engine's {@link Prompts} (as the CLI does), and
 * checks them against the context with the engine's {@link ContextLimit}. Whatever is wrong with one row becomes that
 * row's error message; nothing here throws for a bad row.
 */
final class RowPreparer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Engine engine;
    private final InputLayout layout;
    private final SamplingParams defaults;
    private final Long jobSeed;
    private final String defaultResponseFormat;
    private final List<String> defaultLabels;
    private final int contextLength;

    /**
     * @param defaults what a row gets for a parameter it has no column for, or a null cell in it
     * @param jobSeed  when set, a row without a seed cell gets the seed derived from it and the row id
     *                 ({@link RowSeeds}); null = a random seed per row
     * @param defaultResponseFormat the response_format JSON of a row with no {@code response_format} cell; null =
     *                              free text
     */
    RowPreparer(Engine engine, InputLayout layout, SamplingParams defaults, Long jobSeed,
                String defaultResponseFormat, List<String> defaultLabels) {
        this.defaultLabels = defaultLabels;
        this.engine = engine;
        this.layout = layout;
        this.defaults = defaults;
        this.jobSeed = jobSeed;
        this.defaultResponseFormat = defaultResponseFormat;
        this.contextLength = engine.model().contextLength();
    }

    /** The request for {@code row}, or its error; built with {@code engineId} as the engine's request id. */
    PreparedRow prepare(Row row, String engineId) {
        Object id = row.get(layout.idIndex());
        List<String> problems = new ArrayList<>();
        Integer maxNew = intParam(row, InputLayout.MAX_NEW_TOKENS, defaults.maxNewTokens(), 1, problems);
        Double temperature = doubleParam(row, InputLayout.TEMPERATURE, shown(defaults.temperature()), problems);
        Double topP = doubleParam(row, InputLayout.TOP_P, shown(defaults.topP()), problems);
        Integer topK = intParam(row, InputLayout.TOP_K, defaults.topK(), 0, problems);
        Long seed = seedParam(row, id, problems);
        List<String> stop = stopParam(row, problems);
        Integer n = intParam(row, InputLayout.N, defaults.n(), 1, problems);
        ResponseFormat format = responseFormatParam(row, problems);
        List<String> labels = labelsParam(row, problems);
        ParamsUsed used = new ParamsUsed(maxNew, temperature, topP, topK, seed, stop);

        if (layout.inputErrorIndex() >= 0 && !row.isNullAt(layout.inputErrorIndex())) {
            return PreparedRow.error(id, used, row.getString(layout.inputErrorIndex()));
        }
        if (id == null) {
            return PreparedRow.error(null, used, "the id is null");
        }
        if (!problems.isEmpty()) {
            return PreparedRow.error(id, used, String.join("; ", problems));
        }
        SamplingParams params;
        try {
            params = defaults.toBuilder()
                    .maxNewTokens(maxNew)
                    .temperature(temperature.floatValue())
                    .topP(topP.floatValue())
                    .topK(topK)
                    .seed(seed)
                    .stopStrings(stop)
                    .n(n)
                    .build();
        } catch (IllegalArgumentException bad) {
            return PreparedRow.error(id, used, "bad parameter: " + bad.getMessage());
        }
        int[] promptIds;
        try {
            promptIds = tokenize(row);
        } catch (BadRowException | IllegalArgumentException bad) {
            return PreparedRow.error(id, used, bad.getMessage());
        } catch (RuntimeException e) {
            return PreparedRow.error(id, used, "could not tokenize the prompt: " + e);
        }
        // The engine applies the same rule to what it is sent; checking here too keeps a prompt with no room for a
        // token out of the request batch, and its error row says so in the engine's words.
        String tooLong = ContextLimit.promptError(promptIds.length, contextLength);
        if (tooLong != null) {
            return PreparedRow.error(id, used, tooLong, promptIds.length);
        }
        try {
            GenerationRequest request = new GenerationRequest(engineId, promptIds, params, format);
            if (labels != null) {
                // the engine checks the list (empty, empty label, duplicate, too long) and answers an error row
                request = request.withLabels(Prompts.labels(engine, labels, false));
            }
            return new PreparedRow(id, request, used, null);
        } catch (IllegalArgumentException bad) {
            // e.g. a response_format with stop strings, which could cut the output inside the structure
            return PreparedRow.error(id, used, "bad parameter: " + bad.getMessage());
        }
    }

    /**
     * A default (held as the engine's float) as the output column shows it: the shortest decimal that reads back as
     * that float, which is the value as written for anything with up to 7 significant digits (0.8, not 0.800000011).
     */
    private static double shown(float v) {
        return Double.parseDouble(Float.toString(v));
    }

    /** The row's prompt ids, through the engine's {@link Prompts} as the CLI gets them. */
    private int[] tokenize(Row row) {
        if (layout.promptIndex() >= 0) {
            String prompt = row.isNullAt(layout.promptIndex()) ? null : row.getString(layout.promptIndex());
            if (prompt == null) {
                throw new BadRowException("the prompt is null");
            }
            // The job's contract, stricter than the CLI's: a blank cell is a mistake in the table, not a request for
            // text from BOS alone.
            if (prompt.isBlank()) {
                throw new BadRowException("the prompt is empty");
            }
            return Prompts.fromText(engine, prompt);
        }
        return Prompts.fromMessages(engine, messages(row));
    }

    private List<Map<String, String>> messages(Row row) {
        int i = layout.messagesIndex();
        if (row.isNullAt(i)) {
            throw new BadRowException("the messages are null");
        }
        Object cell = row.get(i);
        List<Map<String, String>> out = new ArrayList<>();
        if (cell instanceof String json) {
            try {
                out = JSON.readValue(json, new TypeReference<List<Map<String, String>>>() { });
            } catch (Exception e) {
                throw new BadRowException("the messages are not a JSON array of {\"role\", \"content\"} objects: "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
        } else {
            for (Object m : row.getList(i)) {
                if (m == null) {
                    throw new BadRowException("a message is null");
                }
                Map<String, String> msg = new LinkedHashMap<>();
                if (m instanceof Row r) {
                    Object role = r.getAs("role");
                    Object content = r.getAs("content");
                    msg.put("role", role == null ? null : role.toString());
                    msg.put("content", content == null ? null : content.toString());
                } else if (m instanceof scala.collection.Map<?, ?> sm) {
                    scala.jdk.javaapi.CollectionConverters.asJava(sm)
                            .forEach((k, v) -> msg.put(String.valueOf(k), v == null ? null : String.valueOf(v)));
                }
                out.add(msg);
            }
        }
        return out == null ? List.of() : out;
    }

    /** A whole-number cell; {@code min} is the parameter's least value, for the out-of-range message. */
    private Integer intParam(Row row, int which, int dflt, int min, List<String> problems) {
        int i = layout.parameter(which);
        if (i < 0 || row.isNullAt(i)) {
            return dflt;
        }
        try {
            return NumberParam.wholeInt(GenerationColumns.PARAMETER_COLUMNS.get(which), row.get(i), min);
        } catch (IllegalArgumentException bad) {
            problems.add("bad parameter: " + bad.getMessage());
            return null;
        }
    }

    private Double doubleParam(Row row, int which, double dflt, List<String> problems) {
        int i = layout.parameter(which);
        if (i < 0 || row.isNullAt(i)) {
            return dflt;
        }
        Object v = row.get(i);
        try {
            double d = NumberParam.finiteFloat(GenerationColumns.PARAMETER_COLUMNS.get(which), v);
            // a float or double cell as written (0.8, not 0.800000011920929), a text cell as parsed
            return v instanceof Number n ? Double.valueOf(n.toString()) : d;
        } catch (IllegalArgumentException bad) {
            problems.add("bad parameter: " + bad.getMessage());
            return null;
        }
    }

    private Long seedParam(Row row, Object id, List<String> problems) {
        int i = layout.parameter(InputLayout.SEED);
        if (i >= 0 && !row.isNullAt(i)) {
            try {
                return NumberParam.wholeLong("seed", row.get(i));
            } catch (IllegalArgumentException bad) {
                problems.add("bad parameter: " + bad.getMessage());
                return null;
            }
        }
        if (jobSeed != null && id != null) {
            return RowSeeds.derive(jobSeed, id.toString());
        }
        return null;
    }

    /** The row's labels cell ({@code array<string>}), or the job's default labels for a null one; null = generate. */
    private List<String> labelsParam(Row row, List<String> problems) {
        int i = layout.labelsIndex();
        if (i < 0 || row.isNullAt(i)) {
            return defaultLabels;
        }
        List<String> labels = new ArrayList<>();
        for (Object o : row.getList(i)) {
            labels.add(o == null ? null : o.toString());
        }
        return labels;
    }

    private List<String> stopParam(Row row, List<String> problems) {
        int i = layout.parameter(InputLayout.STOP);
        if (i < 0 || row.isNullAt(i)) {
            return defaults.stopStrings();
        }
        Object v = row.get(i);
        List<String> stop = new ArrayList<>();
        if (v instanceof String s) {
            stop.add(s);
        } else {
            for (Object o : row.getList(i)) {
                stop.add(o == null ? null : o.toString());
            }
        }
        if (stop.contains(null)) {
            problems.add("bad parameter: stop contains a null string");
            return null;
        }
        return stop;
    }

    /**
     * The row's structured output format: its {@code response_format} cell, or the default for a null cell (or no
     * column). {@link ResponseFormat#parse} caches what it compiles, so a format repeated over rows is compiled once.
     */
    private ResponseFormat responseFormatParam(Row row, List<String> problems) {
        int i = layout.responseFormatIndex();
        boolean own = i >= 0 && !row.isNullAt(i);
        String json = own ? row.getString(i) : defaultResponseFormat;
        if (json == null) {
            return null;
        }
        try {
            return ResponseFormat.parse(json);
        } catch (IllegalArgumentException bad) {
            // the engine's message already starts "response_format ..." and names what is wrong (e.g. the keyword)
            problems.add("bad parameter: " + bad.getMessage());
            return null;
        } catch (RuntimeException e) {
            problems.add("bad parameter: response_format could not be compiled: " + e);
            return null;
        }
    }

    /** A problem with the row's content, whose message goes into the row's error column as it is. */
    private static final class BadRowException extends RuntimeException {
        BadRowException(String message) {
            super(message, null, false, false);
        }
    }
}
