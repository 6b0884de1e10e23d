package org.mixtralspark.udf;

import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One column of an Arrow batch: which value of a source object {@code S} it holds, and where that value goes when the
 * batch is read back into a builder {@code B}. A batch's schema is the list of its columns, in one place
 * ({@link RequestColumns}, {@link ResultColumns}); adding a field to a batch is adding one line there.
 *
 * @param <S> what a row is written from
 * @param <B> what a row is read back into
 */
final class ArrowColumn<S, B> {

    private final String name;
    private final Field field;
    private final Writer<S> writer;
    private final Reader<B> reader;

    private ArrowColumn(String name, Field field, Writer<S> writer, Reader<B> reader) {
        this.name = name;
        this.field = field;
        this.writer = writer;
        this.reader = reader;
    }

    /** A column of {@code codec} values taken from a source by {@code get} and handed to a builder by {@code set}. */
    static <S, B, V> ArrowColumn<S, B> of(String name, ArrowCodec<V> codec, Function<S, V> get, BiConsumer<B, V> set) {
        return new ArrowColumn<>(name, codec.field(name),
                (vector, row, source) -> codec.write(vector, row, get.apply(source)),
                (vector, row, builder) -> set.accept(builder, codec.read(vector, row)));
    }

    /** A column that is only written (read back by other means, e.g. through Spark's column vectors). */
    static <S, B, V> ArrowColumn<S, B> writeOnly(String name, ArrowCodec<V> codec, Function<S, V> get) {
        return of(name, codec, get, (builder, value) -> {
            throw new UnsupportedOperationException("column " + name + " is not read back into objects");
        });
    }

    String name() {
        return name;
    }

    Field field() {
        return field;
    }

    void write(FieldVector vector, int row, S source) {
        writer.write(vector, row, source);
    }

    void read(FieldVector vector, int row, B builder) {
        reader.read(vector, row, builder);
    }

    /** The schema of a batch with these columns, in this order. */
    static Schema schema(List<? extends ArrowColumn<?, ?>> columns) {
        return new Schema(columns.stream().map(ArrowColumn::field).toList());
    }

    /** Writes {@code source} as row {@code row} of every column of {@code root} (columns in schema order). */
    static <S> void writeRow(List<? extends ArrowColumn<S, ?>> columns, VectorSchemaRoot root, int row, S source) {
        for (int c = 0; c < columns.size(); c++) {
            columns.get(c).write(root.getVector(c), row, source);
        }
    }

    /** Hands row {@code row} of every column of {@code root} to {@code builder}. */
    static <B> void readRow(List<? extends ArrowColumn<?, B>> columns, VectorSchemaRoot root, int row, B builder) {
        for (int c = 0; c < columns.size(); c++) {
            columns.get(c).read(root.getVector(c), row, builder);
        }
    }

    @FunctionalInterface
    private interface Writer<S> {
        void write(FieldVector vector, int row, S source);
    }

    @FunctionalInterface
    private interface Reader<B> {
        void read(FieldVector vector, int row, B builder);
    }
}
