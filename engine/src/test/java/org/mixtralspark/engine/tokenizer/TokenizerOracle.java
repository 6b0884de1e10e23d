package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.oracle.Oracle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The tokenizer parts of the oracle (README §1.4, §2): prompt texts with their ids, llama.cpp's ids. Files come
 * through {@link Oracle}, shared or bundled.
 */
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

    /** mini-mistral-hf's tokenizer.json and tokenizer_config.json (the Mistral vocabulary, the chat template). */
    static Path miniMistralHf() {
        return Oracle.tokenizerFolder("mini-mistral-hf");
    }

    /**
     * The kquant tokenizer files. kquant-hf-bf16's, which are byte-identical to kquant-hf's (models/MANIFEST.sha256:
     * tokenizer.json 03e4b4ca…, tokenizer_config.json 747ec99b…) and bundled.
     */
    static Path kquantHf() {
        return Oracle.tokenizerFolder("kquant-hf-bf16");
    }

    /**
     * A GGUF with the mini-mistral vocabulary in its metadata: the Q8_0 file, whose tokenizer keys are those of every
     * mini-mistral GGUF (README §1.2) and which is bundled.
     */
    static Path miniMistralGguf() {
        return Oracle.model("mini-mistral-q8_0.gguf");
    }

    /** A GGUF with the kquant vocabulary: the Q4_K_M file, bundled. */
    static Path kquantGguf() {
        return Oracle.model("kquant-q4_k_m.gguf");
    }

    /** {@code references/prompts.json} entries of {@code model} ("mini-mistral" or "kquant"). */
    static List<Prompt> prompts(String model) {
        JsonNode root = Oracle.json("references/prompts.json");
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
        Path tsv = Oracle.file("references/llamacpp/" + model + ".prompts.tsv");
        JsonNode ref = Oracle.json("references/llamacpp/" + stem + ".json");
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
