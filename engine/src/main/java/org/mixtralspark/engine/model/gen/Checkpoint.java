package org.mixtralspark.engine.model.gen;

import org.mixtralspark.engine.io.RowSource;
import org.mixtralspark.engine.model.MixtralConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model in HF layout (tensor names and q/k row order of transformers' Mixtral checkpoints), with its vocabulary as
 * GGUF tokenizer metadata ({@code tokenizer.*} keys). What {@link CheckpointWriter} writes as an HF folder or a GGUF
 * file. Tensors are sources of rows, drawn when written: a random 8x7B-shaped checkpoint costs no memory until then.
 *
 * @param name      display name ({@code general.name})
 * @param config    hyper-parameters
 * @param tensors   HF name to tensor, in writing order
 * @param tokenizer GGUF {@code tokenizer.*} metadata (values as the GGUF reader returns them)
 */
public record Checkpoint(String name, MixtralConfig config, LinkedHashMap<String, Tensor> tensors,
                         Map<String, Object> tokenizer) {

    /** A row-major tensor: its shape and the source of its rows (each row the last dimension). */
    public record Tensor(long[] shape, RowSource rows) {

        /** A tensor held in an array (read, not copied). */
        public static Tensor of(long[] shape, float[] data) {
            return new Tensor(shape, RowSource.of(data, Math.toIntExact(shape[shape.length - 1])));
        }

        public int cols() {
            return Math.toIntExact(shape[shape.length - 1]);
        }

        public long rowCount() {
            long n = 1;
            for (int i = 0; i < shape.length - 1; i++) {
                n *= shape[i];
            }
            return n;
        }

        /** Every value, row-major, in a new array: for test-sized tensors (and the HF writer, which is in memory). */
        public float[] data() {
            int cols = cols();
            float[] all = new float[Math.toIntExact(rowCount() * cols)];
            float[] row = new float[cols];
            for (long r = 0; r < rowCount(); r++) {
                rows.row(r, row);
                System.arraycopy(row, 0, all, (int) r * cols, cols);
            }
            return all;
        }
    }
}
