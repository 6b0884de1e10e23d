package org.mixtralspark.engine.backend.cuda;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.model.MixtralConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sizes of the device layout: Mixtral 8x7B's 46.7 B parameters, 12.9 B of them active per token. */
class DeviceWeightLayoutTest {

    @Test
    void mixtral8x7bInBf16() {
        DeviceWeightLayout l = new DeviceWeightLayout(MixtralConfig.mixtral8x7b(), Precision.BF16);
        assertEquals(6144L * 4096, l.wqkvElements());
        assertEquals(2L * 14336 * 4096, l.w13ExpertElements());
        assertEquals(4096L * 14336, l.w2ExpertElements());
        double params = l.totalBytes() / 2.0; // norms and routers are fp32: a rounding error here
        assertEquals(46.7e9, params, 0.1e9);
        double active = l.activeBytesPerToken() / 2.0;
        assertEquals(12.9e9, active, 0.2e9);
        // the decode roofline at the 4.3 TB/s copy bandwidth measured on an H200 here
        double tokensPerSecond = 4.3e12 / l.activeBytesPerToken();
        assertTrue(tokensPerSecond > 150 && tokensPerSecond < 180, "roofline " + tokensPerSecond);
    }

    @Test
    void f32TakesTwiceTheMatrixBytesAndDenseModelsHaveNoRouter() {
        MixtralConfig dense = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 1, 1, 1e4, 1e-5f, 128);
        DeviceWeightLayout b = new DeviceWeightLayout(dense, Precision.BF16);
        DeviceWeightLayout f = new DeviceWeightLayout(dense, Precision.F32);
        assertEquals(0, b.routerFloats());
        long fp32Norms = (2L * 64 * 2 + 64) * 4;
        assertEquals(2 * (b.totalBytes() - fp32Norms), f.totalBytes() - fp32Norms);
        // a dense model's active bytes are all its bytes, plus the one embedding row it reads instead of the table
        long embedding = 512L * 64 * 2;
        assertEquals(b.totalBytes() - embedding + 64 * 2, b.activeBytesPerToken());
    }
}
