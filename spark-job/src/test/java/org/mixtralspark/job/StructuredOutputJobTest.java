package org.mixtralspark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.udf.testing.TestSpark;
import org.mixtralspark.udf.testing.TinyModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Structured output through the whole job (local mode, the tiny random-weight model sampled at temperature 1, so the
 * tokens are whatever the constraint lets through): the per-row {@code response_format} column, the job-wide
 * {@code --response-format} default, and a bad row among good ones. Outputs are checked by networknt's validator,
 * not by the engine's own compiler.
 */
class StructuredOutputJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
            + "\"ok\":{\"type\":\"boolean\"},\"tag\":{\"enum\":[\"red\",\"green\"]}},\"required\":[\"n\",\"ok\",\"tag\"],"
            + "\"additionalProperties\":false}";
    private static final String JSON_SCHEMA_FORMAT = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"t\","
            + "\"schema\":" + SCHEMA + "}}";
    private static final List<String> CHOICES = List.of("positive", "negative", "neutral");
    private static final String CHOICE_FORMAT = "{\"type\":\"choice\",\"choices\":[\"positive\",\"negative\",\"neutral\"]}";
    private static final StructType INPUT = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("response_format", DataTypes.StringType);

    private static SparkSession spark;
    private static String model;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        spark = TestSpark.session();
        model = TinyModels.tiny().toString();
    }

    private String input(List<Row> rows) {
        String path = dir.resolve("in").toString();
        spark.createDataFrame(rows, INPUT).repartition(2).write().parquet(path);
        return path;
    }

    private List<Row> run(String in, String... more) {
        String out = dir.resolve("out").toString();
        List<String> a = new ArrayList<>(List.of("--input", in, "--model", model, "--output", out,
                "--max-new-tokens", "48", "--temperature", "1", "--seed", "11", "--batch-size", "8"));
        a.addAll(List.of(more));
        JobRunner.run(spark, JobOptions.parse(a.toArray(String[]::new)));
        return spark.read().parquet(out).collectAsList();
    }

    @Test
    void perRowFormatsShapeEachRowAndABadOneIsAnErrorRowAmongGoodOnes() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            rows.add(RowFactory.create("j" + i, "record " + i, JSON_SCHEMA_FORMAT));
            rows.add(RowFactory.create("c" + i, "review " + i, CHOICE_FORMAT));
            rows.add(RowFactory.create("f" + i, "free " + i, null));
        }
        rows.add(RowFactory.create("bad", "record", "{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\","
                + "\"if\":{\"required\":[\"a\"]}}}"));
        List<Row> out = run(input(rows));

        assertEquals(rows.size(), out.size());
        JsonSchema validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(JSON.readTree(SCHEMA));
        int jsonStops = 0;
        int freeOk = 0;
        for (Row r : out) {
            String id = r.getAs("id");
            String gen = r.getAs("generation");
            String finish = r.getAs("finish_reason");
            if (id.equals("bad")) {
                String error = r.getAs("error");
                assertEquals("error", finish);
                assertTrue(error != null && error.contains("'if'") && error.contains("response_format"), error);
                continue;
            }
            assertNull(r.getAs("error"), id);
            if (id.startsWith("j") && finish.equals("stop")) {
                jsonStops++;
                JsonNode parsed;
                try {
                    parsed = JSON.readTree(gen);
                } catch (Exception e) {
                    fail(id + ": a finished structured output is not JSON: " + gen, e);
                    return;
                }
                assertEquals(Set.of(), validator.validate(parsed), id + ": " + gen);
            } else if (id.startsWith("c")) {
                assertEquals("stop", finish, id + ": " + gen);
                assertTrue(CHOICES.contains(gen), id + ": " + gen);
            } else if (id.startsWith("f")) {
                freeOk++;
            }
        }
        assertTrue(jsonStops > 0, "no json_schema row finished within 48 tokens: nothing was validated");
        assertEquals(16, freeOk, "rows with a null response_format run as free text");
    }

    @Test
    void theJobWideFlagIsTheDefaultOfRowsWithoutACell() throws Exception {
        Path format = dir.resolve("format.json");
        Files.writeString(format, CHOICE_FORMAT);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add(RowFactory.create("d" + i, "review " + i, null));
        }
        rows.add(RowFactory.create("own", "record", "{\"type\":\"regex\",\"pattern\":\"[0-9]{3}\"}"));
        List<Row> out = run(input(rows), "--response-format", "@" + format);

        assertEquals(rows.size(), out.size());
        for (Row r : out) {
            String id = r.getAs("id");
            String gen = r.getAs("generation");
            assertNull(r.getAs("error"), id);
            assertEquals("stop", r.getAs("finish_reason"), id + ": " + gen);
            if (id.equals("own")) {
                assertTrue(gen.matches("[0-9]{3}"), "the row's own format wins over the flag: " + gen);
            } else {
                assertTrue(CHOICES.contains(gen), id + ": " + gen);
            }
        }
    }
}
