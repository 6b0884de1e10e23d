package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.io.Oracle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** The tokenizer parts of the shared oracle (README §1.4, §2): prompt texts with their ids, llama.cpp's ids. */
final class TokenizerOracle {

    /** One prompt: its text and the ids it must tokenize to (BOS included). */
    record Prompt(String model, String name, String text, int[] ids) {
        @Override
        public String toString() {
            return model + "/" + name;
        }
    }

    private TokenizerOracle() {
    }

    static Path models() {
        return Oracle.models();
    }

    static Path miniMistralHf() {
        return models().resolve("mini-mistral-hf");
    }

    static Path kquantHf() {
        return models().resolve("kquant-hf");
    }

    /** {@code references/prompts.json} entries of {@code model} ("mini-mistral" or "kquant"). */
    static List<Prompt> prompts(String model) {
        JsonNode root = Oracle.json(Oracle.dir().resolve("references/prompts.json"));
        List<Prompt> out = new ArrayList<>();
        for (JsonNode p : root.get(model)) {
            out.add(new Prompt(model, p.get("name").asText(), p.get("text").asText(), ints(p.get("ids"))));
        }
        return out;
    }

    /**
     * The prompts llama.cpp tokenized for {@code model}: texts from {@code references/llamacpp/<model>.prompts.tsv}
     * (hex UTF-8), ids from {@code llama_tokenized_ids} of {@code references/llamacpp/<stem>.json}.
     */
    static List<Prompt> llamaCppTokenized(String model, String stem) {
        Path tsv = Oracle.dir().resolve("references/llamacpp/" + model + ".prompts.tsv");
        JsonNode ref = Oracle.json(Oracle.dir().resolve("references/llamacpp/" + stem + ".json"));
        List<Prompt> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(tsv, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                String[] cols = line.split("\t", -1);
                String text = new String(HexFormat.of().parseHex(cols[1]), StandardCharsets.UTF_8);
                for (JsonNode p : ref.get("prompts")) {
                    if (p.get("name").asText().equals(cols[0])) {
                        out.add(new Prompt(stem, cols[0], text, ints(p.get("llama_tokenized_ids"))));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
