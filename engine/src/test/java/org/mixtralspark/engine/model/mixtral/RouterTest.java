package org.mixtralspark.engine.model.mixtral;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RouterTest {

    @Test
    void choosesTopTwoAndRenormalisesTheirSoftmaxWeights() {
        float[] logits = {0.5f, 2.0f, -1.0f, 1.0f};
        int[] experts = new int[2];
        float[] weights = new float[2];
        Router.route(logits, 0, 4, 2, experts, weights, 0);
        assertArrayEquals(new int[] {1, 3}, experts);
        double p1 = Math.exp(2.0);
        double p3 = Math.exp(1.0);
        assertEquals(p1 / (p1 + p3), weights[0], 1e-7);
        assertEquals(p3 / (p1 + p3), weights[1], 1e-7);
    }

    @Test
    void lowerIndexWinsATie() {
        float[] logits = {1f, 3f, 3f, 3f};
        int[] experts = new int[2];
        float[] weights = new float[2];
        Router.route(logits, 0, 4, 2, experts, weights, 0);
        assertArrayEquals(new int[] {1, 2}, experts);
        assertEquals(0.5f, weights[0], 1e-7);
    }

    @Test
    void readsAndWritesAtTheGivenOffsets() {
        float[] logits = {9f, 9f, 0f, 1f, 2f};
        int[] experts = {-1, -1, -1, -1};
        float[] weights = new float[4];
        Router.route(logits, 2, 3, 2, experts, weights, 2);
        assertArrayEquals(new int[] {-1, -1, 2, 1}, experts);
        assertEquals(1f, weights[2] + weights[3], 1e-6);
    }

    @Test
    void largeLogitsDoNotOverflow() {
        float[] logits = {1000f, 999f, -1000f};
        int[] experts = new int[2];
        float[] weights = new float[2];
        Router.route(logits, 0, 3, 2, experts, weights, 0);
        assertEquals(1 / (1 + Math.exp(-1)), weights[0], 1e-6);
    }
}
