package org.mixtralspark.engine;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's packages are layers, each knowing only those below it (DESIGN §9, vLLM's serving layers):
 *
 * <pre>
 *   cli
 *   serving            engine, scheduler, step loop
 *   backend.cpu  backend.cuda       each: forward pass, weights on its device, KV storage, kernels
 *   backend            the ModelRunner contract and the step records
 *   constrain          structured output: response formats, grammars, token masks (uses tokenizer)
 *   sampling  tokenizer  model.gen (random checkpoints, a tool)
 *   model (+ model.mixtral: config, weights, loader, the reference forward pass)
 *   kv (block allocator)  io (+ io.gguf, io.safetensors)
 *   tensor             weight matrices, quant types, dequantise / quantise
 * </pre>
 *
 * The two backends never see each other, and nothing below serving chooses between them.
 */
class LayeringTest {

    private static JavaClasses engine;

    @BeforeAll
    static void importMainClasses() {
        engine = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.mixtralspark.engine");
        // a rule over an empty import passes whatever the code does: make sure the classes are there
        assertTrue(engine.size() > 150, "imported only " + engine.size() + " classes");
    }

    @Test
    void noPackageCycles() {
        slices().matching("org.mixtralspark.engine.(**)").should().beFreeOfCycles().check(engine);
    }

    @Test
    void eachLayerUsesOnlyTheLayersBelowIt() {
        String root = "org.mixtralspark.engine.";
        Architectures.layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("tensor").definedBy(root + "tensor..")
                .layer("io").definedBy(root + "io..")
                .layer("kv").definedBy(root + "kv..")
                .layer("model").definedBy(root + "model", root + "model.mixtral")
                .layer("tokenizer").definedBy(root + "tokenizer..")
                .layer("model.gen").definedBy(root + "model.gen..")
                .layer("sampling").definedBy(root + "sampling..")
                .layer("constrain").definedBy(root + "constrain..")
                .layer("backend").definedBy(root + "backend")
                .layer("backend.cpu").definedBy(root + "backend.cpu..")
                .layer("backend.cuda").definedBy(root + "backend.cuda..")
                .layer("serving").definedBy(root + "serving..")
                .layer("cli").definedBy(root + "cli..")
                .whereLayer("tensor").mayNotAccessAnyLayer()
                .whereLayer("kv").mayNotAccessAnyLayer()
                .whereLayer("sampling").mayNotAccessAnyLayer()
                .whereLayer("io").mayOnlyAccessLayers("tensor")
                .whereLayer("model").mayOnlyAccessLayers("io", "tensor")
                .whereLayer("tokenizer").mayOnlyAccessLayers("io")
                .whereLayer("constrain").mayOnlyAccessLayers("tokenizer")
                .whereLayer("model.gen").mayOnlyAccessLayers("model", "io", "tensor", "tokenizer")
                .whereLayer("backend").mayOnlyAccessLayers("model", "kv", "tensor")
                .whereLayer("backend.cpu").mayOnlyAccessLayers("backend", "model", "kv", "tensor")
                .whereLayer("backend.cuda").mayOnlyAccessLayers("backend", "model", "kv", "tensor")
                .whereLayer("serving").mayOnlyAccessLayers("backend", "backend.cpu", "backend.cuda", "kv", "model",
                        "io", "tensor", "sampling", "tokenizer", "constrain")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer()
                .check(engine);
    }
}
