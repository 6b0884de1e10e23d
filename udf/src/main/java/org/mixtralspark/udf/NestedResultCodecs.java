package org.mixtralspark.udf;

import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.serving.GenerationResult;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The result batch's two nested columns, as lists of structs that Spark reads in place through its
 * {@code ArrowColumnVector} (list → {@code ColumnarArray}, struct → {@code ColumnarRow}): the row's samples and
 * sample 0's token log-probabilities. Their Spark types are {@link GenerationColumns#SAMPLES_TYPE} and
 * {@link GenerationColumns#LOGPROBS_TYPE}; the struct fields here have the same names in the same order.
 */
final class NestedResultCodecs {

    /** How many fields a sample's struct has, and where its completion_tokens is (the order written below). */
    static final int SAMPLE_FIELDS = 3;
    static final int SAMPLE_COMPLETION_TOKENS = 2;

    private NestedResultCodecs() {
    }

    /** The samples of a row: {@code list<struct<generation, finish_reason, completion_tokens>>}, never null. */
    static final ArrowCodec<List<GenerationResult>> SAMPLES = new ArrowCodec<>() {
        public Field field(String name) {
            return list(name, false, List.of(
                    Field.notNullable(GenerationColumns.GENERATION, ArrowType.Utf8.INSTANCE),
                    Field.notNullable(GenerationColumns.FINISH_REASON, ArrowType.Utf8.INSTANCE),
                    Field.notNullable(GenerationColumns.COMPLETION_TOKENS, new ArrowType.Int(32, true))));
        }

        public void write(FieldVector v, int row, List<GenerationResult> samples) {
            ListVector list = (ListVector) v;
            StructVector items = (StructVector) list.getDataVector();
            VarCharVector text = (VarCharVector) items.getChild(GenerationColumns.GENERATION);
            VarCharVector finish = (VarCharVector) items.getChild(GenerationColumns.FINISH_REASON);
            IntVector tokens = (IntVector) items.getChild(GenerationColumns.COMPLETION_TOKENS);
            int start = list.startNewValue(row);
            for (int k = 0; k < samples.size(); k++) {
                GenerationResult s = samples.get(k);
                items.setIndexDefined(start + k);
                text.setSafe(start + k, utf8(s.text() == null ? "" : s.text()));
                finish.setSafe(start + k, utf8(s.finishReason().wireName()));
                tokens.setSafe(start + k, s.tokenIds().length);
            }
            list.endValue(row, samples.size());
        }

        public List<GenerationResult> read(FieldVector v, int row) {
            throw new UnsupportedOperationException("samples are read through Spark's column vectors");
        }
    };

    /** Generated tokens' log-probabilities, and the vocabulary piece of an id (the engine's tokenizer's). */
    record Logprobs(List<TokenLogprob> tokens, IntFunction<String> piece) {
    }

    /**
     * Sample 0's log-probabilities: {@code list<struct<token, token_id, logprob, top: list<struct<token, token_id,
     * logprob>>>>}, null when the request asked for none. {@code token} is the id's vocabulary piece.
     */
    static final ArrowCodec<Logprobs> LOGPROBS = new ArrowCodec<>() {
        public Field field(String name) {
            List<Field> token = tokenFields();
            return list(name, true, List.of(token.get(0), token.get(1), token.get(2),
                    list("top", false, tokenFields())));
        }

        public void write(FieldVector v, int row, Logprobs value) {
            ListVector list = (ListVector) v;
            if (value == null) {
                list.setNull(row);
                return;
            }
            StructVector items = (StructVector) list.getDataVector();
            ListVector top = (ListVector) items.getChild("top");
            StructVector alternatives = (StructVector) top.getDataVector();
            List<TokenLogprob> logprobs = value.tokens();
            int start = list.startNewValue(row);
            for (int k = 0; k < logprobs.size(); k++) {
                TokenLogprob lp = logprobs.get(k);
                setToken(items, start + k, lp.tokenId(), lp.logprob(), value.piece());
                int a0 = top.startNewValue(start + k);
                for (int j = 0; j < lp.top().size(); j++) {
                    TokenLogprob.Alternative a = lp.top().get(j);
                    setToken(alternatives, a0 + j, a.tokenId(), a.logprob(), value.piece());
                }
                top.endValue(start + k, lp.top().size());
            }
            list.endValue(row, logprobs.size());
        }

        private void setToken(StructVector s, int i, int id, float logprob, IntFunction<String> piece) {
            s.setIndexDefined(i);
            String text = piece.apply(id);
            VarCharVector token = (VarCharVector) s.getChild("token");
            if (text == null) {
                token.setNull(i);
            } else {
                token.setSafe(i, utf8(text));
            }
            ((IntVector) s.getChild("token_id")).setSafe(i, id);
            // the engine's float, widened exactly
            ((Float8Vector) s.getChild("logprob")).setSafe(i, logprob);
        }

        public Logprobs read(FieldVector v, int row) {
            throw new UnsupportedOperationException("log-probabilities are read through Spark's column vectors");
        }
    };

    private static List<Field> tokenFields() {
        return List.of(Field.nullable("token", ArrowType.Utf8.INSTANCE),
                Field.notNullable("token_id", new ArrowType.Int(32, true)),
                Field.notNullable("logprob", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)));
    }

    /** A list column of non-null structs with these fields. */
    private static Field list(String name, boolean nullable, List<Field> structFields) {
        Field item = new Field("item", FieldType.notNullable(ArrowType.Struct.INSTANCE), structFields);
        return new Field(name, nullable ? FieldType.nullable(ArrowType.List.INSTANCE)
                : FieldType.notNullable(ArrowType.List.INSTANCE), List.of(item));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
