package org.mixtralspark.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.mixtralspark.engine.tokenizer.Tokenizer;
import org.mixtralspark.engine.tokenizer.Tokenizers;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code mixtral tokenize}: text to token ids with a model's tokenizer. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Tokenize text with the tokenizer of a model (HF folder, GGUF file or tokenizer.json).")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF folder, GGUF file or tokenizer.json.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--text", description = "The text to tokenize.")
        String text;

        @Option(names = "--input", description = "JSONL lines {\"text\": ...}; writes lines {\"ids\": [...]}.")
        Path input;
    }

    @Option(names = "--no-bos", description = "Do not add the BOS token.")
    boolean noBos;

    @Option(names = "--json", description = "Print {\"ids\": [...], \"tokens\": [...]}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Tokenizer tokenizer = Tokenizers.load(model)) {
            boolean bos = !noBos && tokenizer.addBosByDefault();
            if (source.text != null) {
                int[] ids = tokenizer.encode(source.text, bos);
                if (json) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("ids", ids);
                    List<String> pieces = new ArrayList<>();
                    for (int id : ids) {
                        pieces.add(tokenizer.piece(id));
                    }
                    o.put("tokens", pieces);
                    out.println(Json.write(o));
                } else {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < ids.length; i++) {
                        sb.append(i == 0 ? "" : ",").append(ids[i]);
                    }
                    out.println(sb);
                }
                return 0;
            }
            try (BufferedReader in = Files.newBufferedReader(source.input, StandardCharsets.UTF_8)) {
                String line;
                int lineNo = 0;
                while ((line = in.readLine()) != null) {
                    lineNo++;
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode node = Json.MAPPER.readTree(line);
                    if (node == null || !node.hasNonNull("text") || !node.get("text").isTextual()) {
                        throw new IllegalArgumentException(source.input + " line " + lineNo
                                + ": expected an object with a string field \"text\"");
                    }
                    out.println(Json.write(Map.of("ids", tokenizer.encode(node.get("text").asText(), bos))));
                }
            }
            return 0;
        }
    }
}
