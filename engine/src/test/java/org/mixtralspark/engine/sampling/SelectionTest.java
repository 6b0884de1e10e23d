package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectionTest {

    @Test
    void argmaxPrefersTheLowestIdOnTies() {
        assertEquals(1, Selection.argmax(new float[] {1, 3, 3, 2, 3}));
        assertEquals(0, Selection.argmax(new float[] {5, 5, 5}));
        assertEquals(2, Selection.argmax(new float[] {Float.NEGATIVE_INFINITY, -1, -0.5f}));
    }

    @Test
    void keyOrdersFloatsLikeFloatsAndTiesByLowerId() {
        float[] values = {Float.NEGATIVE_INFINITY, -3e38f, -2, -1, -Float.MIN_VALUE, 0, Float.MIN_VALUE, 1, 2, 3e38f,
                Float.POSITIVE_INFINITY};
        for (int i = 0; i + 1 < values.length; i++) {
            assertTrue(Selection.key(values[i], 0) < Selection.key(values[i + 1], 0), values[i] + " < " + values[i + 1]);
        }
        assertTrue(Selection.key(1, 3) > Selection.key(1, 4), "equal values: the lower id ranks higher");
        assertEquals(Selection.key(0.0f, 5), Selection.key(-0.0f, 5), "-0 and +0 are equal logits");
        assertEquals(123, Selection.idOf(Selection.key(-7.5f, 123)));
    }

    @Test
    void largestAndDescendingMatchAFullSortIncludingTies() {
        Random random = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            int vocab = 1 + random.nextInt(300);
            float[] v = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                v[i] = random.nextInt(20) / 4.0f - 2; // coarse values: many ties
            }
            int n = random.nextInt(vocab + 3);
            int[] expected = IntStream.range(0, vocab).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -v[i]).thenComparingInt(i -> i))
                    .limit(n).mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, Selection.largest(v, n), "vocab " + vocab + ", n " + n);

            int[] ids = IntStream.range(0, vocab).filter(i -> i % 3 != 1).toArray();
            Selection.Descending order = new Selection.Descending(v, ids, ids.length);
            int[] sorted = new int[ids.length];
            for (int i = 0; i < sorted.length; i++) {
                assertTrue(order.hasNext());
                sorted[i] = order.next();
            }
            assertFalse(order.hasNext());
            int[] expectedSorted = Arrays.stream(ids).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -v[i]).thenComparingInt(i -> i))
                    .mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expectedSorted, sorted);
        }
    }
}
