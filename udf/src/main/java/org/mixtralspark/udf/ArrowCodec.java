package org.mixtralspark.udf;

import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How one kind of Java value is written into, and read back from, one Arrow vector: the Arrow type and the vector
 * calls, kept here so that the batches' column lists ({@link RequestColumns}, {@link ResultColumns}) only say which
 * value goes in which column. A null value is written as an Arrow null where the codec allows it, and read back as
 * null.
 *
 * @param <V> the Java value
 */
interface ArrowCodec<V> {

    /** The Arrow field of a column called {@code name} holding these values. */
    Field field(String name);

    void write(FieldVector vector, int row, V value);

    V read(FieldVector vector, int row);

    ArrowCodec<Integer> INT32 = new ArrowCodec<>() {
        public Field field(String name) {
            return Field.notNullable(name, new ArrowType.Int(32, true));
        }

        public void write(FieldVector v, int row, Integer value) {
            ((IntVector) v).setSafe(row, value);
        }

        public Integer read(FieldVector v, int row) {
            return ((IntVector) v).get(row);
        }
    };

    ArrowCodec<Float> FLOAT32 = new ArrowCodec<>() {
        public Field field(String name) {
            return Field.notNullable(name, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE));
        }

        public void write(FieldVector v, int row, Float value) {
            ((Float4Vector) v).setSafe(row, value);
        }

        public Float read(FieldVector v, int row) {
            return ((Float4Vector) v).get(row);
        }
    };

    ArrowCodec<Long> INT64 = new ArrowCodec<>() {
        public Field field(String name) {
            return Field.notNullable(name, new ArrowType.Int(64, true));
        }

        public void write(FieldVector v, int row, Long value) {
            ((BigIntVector) v).setSafe(row, value);
        }

        public Long read(FieldVector v, int row) {
            return ((BigIntVector) v).get(row);
        }
    };

    /** An int64 that may be null (a seed: null = random). */
    ArrowCodec<Long> NULLABLE_INT64 = new ArrowCodec<>() {
        public Field field(String name) {
            return Field.nullable(name, new ArrowType.Int(64, true));
        }

        public void write(FieldVector v, int row, Long value) {
            if (value == null) {
                ((BigIntVector) v).setNull(row);
            } else {
                ((BigIntVector) v).setSafe(row, value);
            }
        }

        public Long read(FieldVector v, int row) {
            return v.isNull(row) ? null : ((BigIntVector) v).get(row);
        }
    };

    ArrowCodec<Boolean> BOOL = new ArrowCodec<>() {
        public Field field(String name) {
            return Field.notNullable(name, ArrowType.Bool.INSTANCE);
        }

        public void write(FieldVector v, int row, Boolean value) {
            ((BitVector) v).setSafe(row, value ? 1 : 0);
        }

        public Boolean read(FieldVector v, int row) {
            return ((BitVector) v).get(row) != 0;
        }
    };

    ArrowCodec<String> UTF8 = utf8(false);

    /** A string that may be null (an error message: null unless the row failed). */
    ArrowCodec<String> NULLABLE_UTF8 = utf8(true);

    /** A list of int32, never null, maybe empty (prompt ids, stop token ids). */
    ArrowCodec<int[]> INT32_LIST = new ArrowCodec<>() {
        public Field field(String name) {
            return new Field(name, FieldType.notNullable(ArrowType.List.INSTANCE),
                    List.of(Field.notNullable("item", new ArrowType.Int(32, true))));
        }

        public void write(FieldVector v, int row, int[] value) {
            ListVector list = (ListVector) v;
            IntVector data = (IntVector) list.getDataVector();
            int start = list.startNewValue(row);
            for (int k = 0; k < value.length; k++) {
                data.setSafe(start + k, value[k]);
            }
            list.endValue(row, value.length);
        }

        public int[] read(FieldVector v, int row) {
            ListVector list = (ListVector) v;
            IntVector data = (IntVector) list.getDataVector();
            int a = list.getElementStartIndex(row);
            int[] out = new int[list.getElementEndIndex(row) - a];
            for (int k = 0; k < out.length; k++) {
                out[k] = data.get(a + k);
            }
            return out;
        }
    };

    /** A list of float64, never null, maybe empty (label log-probabilities). */
    ArrowCodec<double[]> FLOAT64_LIST = new ArrowCodec<>() {
        public Field field(String name) {
            return new Field(name, FieldType.notNullable(ArrowType.List.INSTANCE),
                    List.of(Field.notNullable("item", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
        }

        public void write(FieldVector v, int row, double[] value) {
            ListVector list = (ListVector) v;
            Float8Vector data = (Float8Vector) list.getDataVector();
            int start = list.startNewValue(row);
            for (int k = 0; k < value.length; k++) {
                data.setSafe(start + k, value[k]);
            }
            list.endValue(row, value.length);
        }

        public double[] read(FieldVector v, int row) {
            ListVector list = (ListVector) v;
            Float8Vector data = (Float8Vector) list.getDataVector();
            int a = list.getElementStartIndex(row);
            double[] out = new double[list.getElementEndIndex(row) - a];
            for (int k = 0; k < out.length; k++) {
                out[k] = data.get(a + k);
            }
            return out;
        }
    };

    /** A list of non-null strings, never null, maybe empty (stop strings). */
    ArrowCodec<List<String>> UTF8_LIST = new ArrowCodec<>() {
        public Field field(String name) {
            return new Field(name, FieldType.notNullable(ArrowType.List.INSTANCE),
                    List.of(Field.notNullable("item", ArrowType.Utf8.INSTANCE)));
        }

        public void write(FieldVector v, int row, List<String> value) {
            ListVector list = (ListVector) v;
            VarCharVector data = (VarCharVector) list.getDataVector();
            int start = list.startNewValue(row);
            for (int k = 0; k < value.size(); k++) {
                data.setSafe(start + k, value.get(k).getBytes(StandardCharsets.UTF_8));
            }
            list.endValue(row, value.size());
        }

        public List<String> read(FieldVector v, int row) {
            ListVector list = (ListVector) v;
            VarCharVector data = (VarCharVector) list.getDataVector();
            List<String> out = new ArrayList<>();
            for (int k = list.getElementStartIndex(row); k < list.getElementEndIndex(row); k++) {
                out.add(new String(data.get(k), StandardCharsets.UTF_8));
            }
            return out;
        }
    };

    private static ArrowCodec<String> utf8(boolean nullable) {
        return new ArrowCodec<>() {
            public Field field(String name) {
                return nullable ? Field.nullable(name, ArrowType.Utf8.INSTANCE)
                        : Field.notNullable(name, ArrowType.Utf8.INSTANCE);
            }

            public void write(FieldVector v, int row, String value) {
                if (value == null && nullable) {
                    ((VarCharVector) v).setNull(row);
                } else {
                    ((VarCharVector) v).setSafe(row, value.getBytes(StandardCharsets.UTF_8));
                }
            }

            public String read(FieldVector v, int row) {
                return v.isNull(row) ? null : new String(((VarCharVector) v).get(row), StandardCharsets.UTF_8);
            }
        };
    }
}
