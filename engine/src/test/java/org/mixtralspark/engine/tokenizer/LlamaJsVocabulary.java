package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The Llama-2 tokenizer rebuilt from the data llama-tokenizer-js 1.2.2 embeds (test resources
 * {@code tokenizer-suites/llama-tokenizer-vocab.txt.gz} and {@code -merges.u16le.gz}; README there). The package
 * made that data from Llama-2's {@code tokenizer.json} ({@code data-conversion.py}): the vocabulary as pieces in id
 * order, the merges as (left id, right id) uint16 pairs in rank order. Here it goes back into a {@code tokenizer.json}
 * with the pipeline Llama-2's HF tokenizer has (the same as Mistral's: Prepend/Replace normalizer, byte-fallback BPE,
 * Replace/ByteFallback/Fuse/Strip decoder, BOS post-processor, {@code <unk> <s> </s>} special).
 */
final class LlamaJsVocabulary {

    private LlamaJsVocabulary() {
    }

    static String tokenizerJson() {
        String[] pieces = new String(gunzip("llama-tokenizer-vocab.txt.gz"), StandardCharsets.UTF_8).split("\n", -1);
        ByteBuffer pairs = ByteBuffer.wrap(gunzip("llama-tokenizer-merges.u16le.gz")).order(ByteOrder.LITTLE_ENDIAN);
        List<List<String>> merges = new ArrayList<>();
        while (pairs.remaining() >= 4) {
            merges.add(List.of(pieces[Short.toUnsignedInt(pairs.getShort())],
                    pieces[Short.toUnsignedInt(pairs.getShort())]));
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            vocab.put(pieces[id], id);
        }
        List<Object> added = new ArrayList<>();
        for (int id = 0; id < 3; id++) {
            added.add(Map.of("id", id, "content", pieces[id], "single_word", false, "lstrip", false,
                    "rstrip", false, "normalized", false, "special", true));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", added);
        root.put("normalizer", Map.of("type", "Sequence", "normalizers", List.of(
                Map.of("type", "Prepend", "prepend", "▁"),
                Map.of("type", "Replace", "pattern", Map.of("String", " "), "content", "▁"))));
        root.put("post_processor", Map.of("type", "TemplateProcessing",
                "single", List.of(Map.of("SpecialToken", Map.of("id", "<s>", "type_id", 0)),
                        Map.of("Sequence", Map.of("id", "A", "type_id", 0))),
                "pair", List.of(Map.of("SpecialToken", Map.of("id", "<s>", "type_id", 0)),
                        Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                        Map.of("SpecialToken", Map.of("id", "<s>", "type_id", 1)),
                        Map.of("Sequence", Map.of("id", "B", "type_id", 1))),
                "special_tokens", Map.of("<s>", Map.of("id", "<s>", "ids", List.of(1), "tokens", List.of("<s>")))));
        root.put("decoder", Map.of("type", "Sequence", "decoders", List.of(
                Map.of("type", "Replace", "pattern", Map.of("String", "▁"), "content", " "),
                Map.of("type", "ByteFallback"),
                Map.of("type", "Fuse"),
                Map.of("type", "Strip", "content", " ", "start", 1, "stop", 0))));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("unk_token", "<unk>");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("vocab", vocab);
        model.put("merges", merges);
        root.put("model", model);
        try {
            return new ObjectMapper().writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] gunzip(String resource) {
        try (InputStream in = LlamaJsVocabulary.class.getResourceAsStream("/tokenizer-suites/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource tokenizer-suites/" + resource + " is missing");
            }
            return new GZIPInputStream(in).readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
