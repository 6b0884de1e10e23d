package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The most UTF-8 bytes of input text one token of a {@code tokenizer.json} can stand for, so that a prompt of
 * {@code b} bytes is known to have at least {@code ceil(b / bound)} tokens without tokenizing it (a 5 MB prompt
 * costs seconds to tokenize and is rejected anyway).
 *
 * <p>Why the longest piece is the bound: a token's piece is the (normalized) text it matched, so the token covers at
 * most the piece's UTF-8 bytes of normalized text; a SentencePiece {@code ▁} is 3 bytes for the 1-byte space it
 * stands for, a byte-level BPE character 1 or 2 bytes for its 1 byte, a byte-fallback {@code <0xNN>} 6 for 1, and an
 * unknown character (at most 4 bytes) is one {@code unk}. That holds only while nothing makes the text shorter on the
 * way in, so a definition that can is given no bound ({@link OptionalInt#empty()}): normalizers other than
 * {@code Prepend}/{@code Append} and a non-shrinking string {@code Replace} (Unicode composition, {@code Lowercase}
 * (the Kelvin sign, 3 bytes, becomes {@code k}), {@code Strip}, {@code StripAccents}, {@code Precompiled}'s
 * removals), pre-tokenizers that drop text (whitespace splitting, a {@code Split} whose behaviour is
 * {@code Removed}), added tokens that absorb the whitespace beside them ({@code lstrip}/{@code rstrip}), and models
 * that can turn any run of unknown characters into one token (a fused {@code unk}) or drop them (no {@code unk}).
 */
final class TextPerTokenBound {

    private static final Set<String> KEEPING_PRE_TOKENIZERS =
            Set.of("Metaspace", "ByteLevel", "Split", "Digits", "Punctuation", "UnicodeScripts");

    private TextPerTokenBound() {
    }

    /** The bound for {@code root} (a parsed tokenizer.json) whose id -> piece table is {@code pieces}. */
    static OptionalInt of(JsonNode root, String[] pieces) {
        if (!keepsLength(root.path("normalizer")) || !keepsText(root.path("pre_tokenizer"))
                || !coversEveryCharacter(root, pieces)) {
            return OptionalInt.empty();
        }
        for (JsonNode added : root.path("added_tokens")) {
            if (added.path("lstrip").asBoolean(false) || added.path("rstrip").asBoolean(false)) {
                return OptionalInt.empty();
            }
        }
        int most = 4;   // an unk token stands for one character: up to 4 bytes
        for (String piece : pieces) {
            most = Math.max(most, piece.getBytes(StandardCharsets.UTF_8).length);
        }
        return OptionalInt.of(most);
    }

    /** Whether the normalizer can only keep or lengthen the text, in UTF-8 bytes. */
    private static boolean keepsLength(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return true;
        }
        switch (n.path("type").asText()) {
            case "Sequence" -> {
                for (JsonNode step : n.path("normalizers")) {
                    if (!keepsLength(step)) {
                        return false;
                    }
                }
                return true;
            }
            case "Prepend", "Append" -> {
                return true;
            }
            case "Replace" -> {
                JsonNode pattern = n.path("pattern").path("String");
                return pattern.isTextual() && utf8(n.path("content").asText("")) >= utf8(pattern.asText());
            }
            default -> {
                return false;
            }
        }
    }

    /** Whether the pre-tokenizer splits the text without dropping any of it. */
    private static boolean keepsText(JsonNode p) {
        if (p.isMissingNode() || p.isNull()) {
            return true;
        }
        String type = p.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode step : p.path("pretokenizers")) {
                if (!keepsText(step)) {
                    return false;
                }
            }
            return true;
        }
        return KEEPING_PRE_TOKENIZERS.contains(type) && !p.path("behavior").asText("").equals("Removed");
    }

    /**
     * Whether the model gives every character of the text at least one token of its own: byte-level BPE (every byte
     * is in the vocabulary), byte fallback with all 256 byte pieces, or an {@code unk} per unknown character.
     */
    private static boolean coversEveryCharacter(JsonNode root, String[] pieces) {
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE") && !type.equals("Unigram")) {
            return false;   // WordPiece and WordLevel map a whole unknown word to one unk
        }
        if (type.equals("BPE") && usesByteLevel(root.path("pre_tokenizer"))) {
            return true;
        }
        if (model.path("byte_fallback").asBoolean(false) && hasAllBytePieces(pieces)) {
            return true;
        }
        // Unigram fuses unknown characters like sentencepiece; BPE does when fuse_unk is set, and drops them with no
        // unk token at all
        return type.equals("BPE") && !model.path("fuse_unk").asBoolean(false)
                && model.path("unk_token").isTextual();
    }

    private static boolean usesByteLevel(JsonNode p) {
        if (p.path("type").asText("").equals("ByteLevel")) {
            return true;
        }
        for (JsonNode step : p.path("pretokenizers")) {
            if (usesByteLevel(step)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasAllBytePieces(String[] pieces) {
        boolean[] seen = new boolean[256];
        int count = 0;
        for (String piece : pieces) {
            if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
                try {
                    int b = Integer.parseInt(piece.substring(3, 5), 16);
                    if (!seen[b]) {
                        seen[b] = true;
                        count++;
                    }
                } catch (NumberFormatException notAByte) {
                    // a piece that only looks like one
                }
            }
        }
        return count == 256;
    }

    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
