package org.mixtralspark.udf;

import java.util.List;

/**
 * One input row after validation and tokenization: either ready for the engine ({@code promptIds} set) or an error
 * row ({@code error} set). {@code params} are the sampling parameters the row asked for, for the output columns
 * (a value the row got wrong is shown as given; one that could not be read is null).
 */
record PreparedRow(Object id, String engineId, int[] promptIds, ParamsUsed params, String error) {

    static PreparedRow error(Object id, ParamsUsed params, String error) {
        return new PreparedRow(id, null, null, params, error);
    }

    boolean ok() {
        return error == null;
    }

    /** The sampling parameters of one row as they appear in the output. */
    record ParamsUsed(Integer maxNewTokens, Double temperature, Double topP, Integer topK, Long seed,
                      List<String> stop) {
    }
}
