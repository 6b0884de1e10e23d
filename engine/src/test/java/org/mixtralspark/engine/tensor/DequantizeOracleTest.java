package org.mixtralspark.engine.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.mixtralspark.engine.oracle.Oracle;
import org.opentest4j.TestAbortedException;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.gguf.GgufFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every tensor of every GGUF shipped with the oracle dequantises to the float32 values ggml's {@code to_float}
 * gives, bit for bit: the sha256 of the little-endian float32 bytes in ggml order ({@code ne[0]} fastest, i.e.
 * row-major) equals {@code references/dequant/<stem>.json}.
 */
class DequantizeOracleTest {

    @TestFactory
    List<DynamicTest> everyTensorOfEveryGgufMatchesGgml() {
        List<String> stems;
        try {
            stems = Oracle.shippedGgufStems();
        } catch (TestAbortedException noOracle) {
            // A factory that aborts reports no test at all; a test that aborts is reported as skipped, with the reason.
            return List.of(DynamicTest.dynamicTest("oracle", () -> {
                throw noOracle;
            }));
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (String stem : stems) {
            tests.add(DynamicTest.dynamicTest(stem, () -> checkFile(stem)));
        }
        return tests;
    }

    private static void checkFile(String stem) throws Exception {
        JsonNode ref = Oracle.dequantReference(stem);
        List<String> failures = new ArrayList<>();
        try (GgufFile gguf = GgufFile.open(Oracle.model(stem + ".gguf"))) {
            for (JsonNode t : ref.get("tensors")) {
                TensorInfo info = gguf.tensor(t.get("name").asText());
                float[] first8 = new float[8];
                String sha = sha256OfDequantized(gguf, info, first8);
                if (!sha.equals(t.get("sha256_f32le").asText())) {
                    StringBuilder sb = new StringBuilder(info + ": sha256 differs; first values got/expected:");
                    for (int i = 0; i < 8; i++) {
                        sb.append(' ').append(first8[i]).append('/').append(t.get("first8").get(i).asDouble());
                    }
                    failures.add(sb.toString());
                }
            }
        }
        assertEquals(List.of(), failures, stem);
    }

    /** Dequantises row by row, as a matmul kernel would, hashing the float32 bytes. */
    static String sha256OfDequantized(GgufFile gguf, TensorInfo info, float[] first8) throws Exception {
        int rowLength = (int) info.dim(info.rank() - 1);
        long rows = info.elementCount() / rowLength;
        long rowBytes = info.type().bytesFor(rowLength);
        ByteBuffer data = gguf.bytes(info);
        float[] row = new float[rowLength];
        ByteBuffer le = ByteBuffer.allocate(4 * rowLength).order(ByteOrder.LITTLE_ENDIAN);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (long r = 0; r < rows; r++) {
            Dequantize.row(info.type(), data, r * rowBytes, row, 0, rowLength);
            if (r == 0) {
                System.arraycopy(row, 0, first8, 0, Math.min(8, rowLength));
            }
            le.clear();
            le.asFloatBuffer().put(row);
            md.update(le.array());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
