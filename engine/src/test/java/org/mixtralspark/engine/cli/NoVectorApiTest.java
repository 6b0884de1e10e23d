package org.mixtralspark.engine.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} (a Spark executor whose options lack it) still
 * runs the engine, on the scalar kernels, and gives the same tokens.
 */
class NoVectorApiTest {

    private static String runCli(boolean vectorApi, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java));
        if (vectorApi) {
            cmd.add("--add-modules=jdk.incubator.vector");
        }
        cmd.addAll(List.of("-cp", cp, MixtralCli.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        return new String(out, StandardCharsets.UTF_8).strip();
    }

    @Test
    void withoutTheVectorModuleTheScalarPathGivesTheSameTokens(@TempDir Path tmp) throws Exception {
        assertTrue(System.getProperty("surefire.test.class.path", "").contains(File.pathSeparator)
                || !System.getProperty("java.class.path").isEmpty());
        Path model = tmp.resolve("m.gguf");
        runCli(true, "random-model", "--out", model.toString(), "--type", "q8_0");
        String[] gen = {"generate", "--model", model.toString(), "--prompt-ids", "1,300,301,302",
                "--temperature", "0", "--max-new-tokens", "8", "--ignore-eos", "--threads", "2", "--json"};
        String vector = runCli(true, gen);
        String scalar = runCli(false, gen);
        String ids = "\"token_ids\":";
        assertTrue(vector.contains(ids), vector);
        assertEquals(vector.substring(vector.indexOf(ids), vector.indexOf("\"text\"")),
                scalar.substring(scalar.indexOf(ids), scalar.indexOf("\"text\"")));
    }
}
