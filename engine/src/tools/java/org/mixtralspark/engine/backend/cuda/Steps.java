package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The tools' steps, written per token, as the {@link StepInput} the engine's scheduler would give. */
final class Steps {

    private Steps() {
    }

    /**
     * Each run of consecutive tokens with one block table is one sequence; it wants logits when its last token is in
     * {@code logitRows} (any other logit row is an error).
     */
    static StepInput of(int[] tokens, int[] positions, BlockTable[] tables, int[] logitRows) {
        List<StepInput.Sequence> seqs = new ArrayList<>();
        int used = 0;
        for (int t0 = 0; t0 < tokens.length; ) {
            int t1 = t0 + 1;
            while (t1 < tokens.length && tables[t1] == tables[t0]) {
                t1++;
            }
            int last = t1 - 1;
            boolean wants = Arrays.stream(logitRows).anyMatch(r -> r == last);
            used += wants ? 1 : 0;
            seqs.add(new StepInput.Sequence(Arrays.copyOfRange(tokens, t0, t1), positions[t0], tables[t0], wants));
            t0 = t1;
        }
        if (used != logitRows.length) {
            throw new IllegalArgumentException("logit rows " + Arrays.toString(logitRows) + " are not all the last "
                    + "token of a sequence");
        }
        return new StepInput(seqs);
    }
}
