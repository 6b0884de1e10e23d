package org.mixtralspark.engine.constrain;

import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The bytes each token adds to the generated text, which is what a grammar constrains. Read from the vocabulary's
 * pieces, the way the model's decoder turns them into text:
 * <ul>
 *   <li>SentencePiece (Mistral, Mixtral, Llama 2): {@code <0xNN>} byte-fallback pieces are the byte NN; in other
 *       pieces {@code ▁} (U+2581) is a space; the rest is the piece's UTF-8;</li>
 *   <li>byte-level BPE (GPT-2 style, where the vocabulary has no {@code ▁} pieces but has {@code Ġ} ones): each
 *       character of a piece stands for one byte through GPT-2's {@code bytes_to_unicode} table;</li>
 *   <li>special tokens (BOS, EOS, UNK, control tokens) add no text: null, never allowed by a mask (EOS is
 *       handled on its own).</li>
 * </ul>
 * SentencePiece decoders also strip one leading space from the whole text ({@code Strip(" ", 1, 0)}), so the first
 * generated token loses it; {@link #stripsLeadingSpace()} says whether this tokenizer does, found by decoding a
 * {@code ▁word} piece rather than assumed. Immutable.
 */
public final class TokenVocabulary {

    private static final char SPIECE_SPACE = '\u2581';

    private final byte[][] bytes;
    private final int eosId;
    private final boolean stripsLeadingSpace;

    TokenVocabulary(byte[][] bytes, int eosId, boolean stripsLeadingSpace) {
        this.bytes = bytes;
        this.eosId = eosId;
        this.stripsLeadingSpace = stripsLeadingSpace;
    }

    /**
     * @param size the model's vocabulary size: ids from the tokenizer's size up to it (padding rows of some
     *             checkpoints) have no text; ids past it are not generated
     */
    public static TokenVocabulary of(Tokenizer tokenizer, int size) {
        int n = Math.min(size, tokenizer.vocabSize());
        String[] pieces = new String[n];
        boolean spiece = false;
        boolean byteLevel = false;
        for (int id = 0; id < n; id++) {
            pieces[id] = tokenizer.piece(id);
            spiece |= pieces[id].indexOf(SPIECE_SPACE) >= 0;
            byteLevel |= pieces[id].startsWith("\u0120");
        }
        boolean gpt2 = byteLevel && !spiece;
        Map<Character, Integer> gpt2Bytes = gpt2 ? gpt2ByteDecoder() : null;
        byte[][] bytes = new byte[size][];
        for (int id = 0; id < n; id++) {
            if (tokenizer.isSpecial(id) || pieces[id].isEmpty()) {
                continue;
            }
            bytes[id] = gpt2 ? gpt2Bytes(pieces[id], gpt2Bytes) : sentencePieceBytes(pieces[id]);
        }
        return new TokenVocabulary(bytes, tokenizer.eosId(), !gpt2 && probeStrip(tokenizer, pieces));
    }

    static byte[] sentencePieceBytes(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(piece.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // an ordinary piece that looks like one
            }
        }
        return piece.replace(SPIECE_SPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes a {@code ▁word} piece alone: a decoder that strips the leading space gives {@code word}. */
    private static boolean probeStrip(Tokenizer tokenizer, String[] pieces) {
        for (int id = 0; id < pieces.length; id++) {
            String p = pieces[id];
            if (p.length() >= 3 && p.charAt(0) == SPIECE_SPACE && p.chars().skip(1).allMatch(Character::isLetter)
                    && !tokenizer.isSpecial(id)) {
                return tokenizer.decode(new int[] {id}).equals(p.substring(1));
            }
        }
        return false;
    }

    /** GPT-2's {@code bytes_to_unicode}, inverted: printable bytes stand for themselves, the others for U+0100... */
    private static Map<Character, Integer> gpt2ByteDecoder() {
        Map<Character, Integer> m = new HashMap<>();
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            m.put(printable ? (char) b : (char) (256 + extra++), b);
        }
        return m;
    }

    private static byte[] gpt2Bytes(String piece, Map<Character, Integer> decoder) {
        byte[] out = new byte[piece.length()];
        for (int i = 0; i < piece.length(); i++) {
            Integer b = decoder.get(piece.charAt(i));
            if (b == null) {
                // an added token's literal text: its UTF-8
                return piece.getBytes(StandardCharsets.UTF_8);
            }
            out[i] = (byte) (int) b;
        }
        return out;
    }

    public int size() {
        return bytes.length;
    }

    /** The bytes of token {@code id}, or null for a special token (no text). Not copied: do not modify. */
    byte[] bytes(int id) {
        return bytes[id];
    }

    /** The bytes of {@code id} as the first generated token: without a leading space when the decoder strips it. */
    byte[] firstBytes(int id) {
        byte[] b = bytes[id];
        if (b != null && stripsLeadingSpace && b.length > 0 && b[0] == ' ') {
            return java.util.Arrays.copyOfRange(b, 1, b.length);
        }
        return b;
    }

    public int eosId() {
        return eosId;
    }

    public boolean stripsLeadingSpace() {
        return stripsLeadingSpace;
    }
}
