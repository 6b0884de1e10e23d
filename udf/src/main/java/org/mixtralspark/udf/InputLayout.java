package org.mixtralspark.udf;

import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * Where the partition function finds what it needs in an input row, checked once on the driver against the schema.
 * Wrong types are rejected here, naming the column; wrong values are rejected per row, later.
 *
 * @param idIndex          the id column (any atomic type; its string form seeds the row)
 * @param promptIndex      the prompt text column, or -1
 * @param messagesIndex    the chat messages column, or -1 (exactly one of prompt and messages is set)
 * @param parameterIndexes per-row parameter columns, in {@link GenerationColumns#PARAMETER_COLUMNS} order; -1 = absent
 * @param inputErrorIndex  the {@link GenerationColumns#INPUT_ERROR} column, or -1
 * @param responseFormatIndex the {@link GenerationColumns#RESPONSE_FORMAT} column (a JSON string), or -1
 * @param labelsIndex      the {@link GenerationColumns#LABELS} column ({@code array<string>}), or -1
 */
public record InputLayout(int idIndex, int promptIndex, int messagesIndex, int[] parameterIndexes,
                          int inputErrorIndex, int responseFormatIndex, int labelsIndex) implements Serializable {

    public static final int MAX_NEW_TOKENS = 0;
    public static final int TEMPERATURE = 1;
    public static final int TOP_P = 2;
    public static final int TOP_K = 3;
    public static final int SEED = 4;
    public static final int STOP = 5;
    public static final int N = 6;

    /**
     * @param promptCol   the prompt column, or null when {@code messagesCol} is given
     * @param messagesCol the messages column (array of {role, content} structs or maps, or a JSON string), or null
     */
    public static InputLayout of(StructType schema, String idCol, String promptCol, String messagesCol) {
        if ((promptCol == null) == (messagesCol == null)) {
            throw new IllegalArgumentException("give exactly one of a prompt column and a messages column (got prompt = "
                    + promptCol + ", messages = " + messagesCol + ")");
        }
        int id = index(schema, idCol, "id");
        DataType idType = schema.fields()[id].dataType();
        if (idType instanceof StructType || idType instanceof ArrayType || idType instanceof MapType
                || idType.equals(DataTypes.BinaryType)) {
            throw new IllegalArgumentException("id column " + idCol + " has type " + idType.simpleString()
                    + ": use a string or a number");
        }
        int prompt = -1;
        int messages = -1;
        if (promptCol != null) {
            prompt = index(schema, promptCol, "prompt");
            requireType(schema, prompt, DataTypes.StringType, "a string");
        } else {
            messages = index(schema, messagesCol, "messages");
            DataType t = schema.fields()[messages].dataType();
            boolean ok = t.equals(DataTypes.StringType)
                    || (t instanceof ArrayType a && (a.elementType() instanceof StructType
                    || a.elementType() instanceof MapType));
            if (!ok) {
                throw new IllegalArgumentException("messages column " + messagesCol + " has type " + t.simpleString()
                        + ": use array<struct<role:string,content:string>>, array<map<string,string>> or a JSON string");
            }
        }
        int[] params = new int[GenerationColumns.PARAMETER_COLUMNS.size()];
        Arrays.fill(params, -1);
        for (int p = 0; p < params.length; p++) {
            String name = GenerationColumns.PARAMETER_COLUMNS.get(p);
            int i = indexOrMinus(schema, name);
            if (i < 0) {
                continue;
            }
            DataType t = schema.fields()[i].dataType();
            boolean ok = p == STOP
                    ? t.equals(DataTypes.StringType) || (t instanceof ArrayType a && a.elementType().equals(DataTypes.StringType))
                    : t instanceof NumericType || t.equals(DataTypes.StringType);
            if (!ok) {
                throw new IllegalArgumentException("parameter column " + name + " has type " + t.simpleString() + ": "
                        + (p == STOP ? "use a string or array<string>" : "use a number"));
            }
            params[p] = i;
        }
        int inputError = indexOrMinus(schema, GenerationColumns.INPUT_ERROR);
        int responseFormat = indexOrMinus(schema, GenerationColumns.RESPONSE_FORMAT);
        if (responseFormat >= 0) {
            requireType(schema, responseFormat, DataTypes.StringType, "a string (a response_format JSON text)");
        }
        int labels = indexOrMinus(schema, GenerationColumns.LABELS);
        if (labels >= 0) {
            requireType(schema, labels, DataTypes.createArrayType(DataTypes.StringType, true),
                    "array<string> (the labels to score)", DataTypes.createArrayType(DataTypes.StringType, false));
        }
        return new InputLayout(id, prompt, messages, params, inputError, responseFormat, labels);
    }

    public int parameter(int which) {
        return parameterIndexes[which];
    }

    private static int index(StructType schema, String name, String what) {
        int i = indexOrMinus(schema, name);
        if (i < 0) {
            throw new IllegalArgumentException(what + " column " + name + " is not in the input; its columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        return i;
    }

    private static int indexOrMinus(StructType schema, String name) {
        String[] names = schema.fieldNames();
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return i;
            }
        }
        for (int i = 0; i < names.length; i++) {
            // Spark resolves column names case-insensitively by default; do the same.
            if (names[i].toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                return i;
            }
        }
        return -1;
    }

    private static void requireType(StructType schema, int i, DataType t, String what, DataType... alsoOk) {
        StructField f = schema.fields()[i];
        if (!f.dataType().equals(t) && !Arrays.asList(alsoOk).contains(f.dataType())) {
            throw new IllegalArgumentException("column " + f.name() + " has type " + f.dataType().simpleString()
                    + ": it must be " + what);
        }
    }
}
