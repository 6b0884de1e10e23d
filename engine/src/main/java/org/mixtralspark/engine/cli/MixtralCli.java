package org.mixtralspark.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/mixtral}: the engine's command line. The flags and the JSON it prints are a contract that other tools
 * and checks rely on (see the README).
 */
@Command(name = "mixtral", mixinStandardHelpOptions = true, version = "mixtral-spark 0.1.0",
        description = "Run Mixtral-family models on the CPU: generate, tokenize, inspect, bench, write random test models.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, InspectCommand.class, BenchCommand.class,
                RandomModelCommand.class, StructuredBenchCommand.class})
public final class MixtralCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command line and returns the exit code (0 = success). A failure is one line on stderr,
     * {@code mixtral: error: <what>}; the stack trace only with {@code -Dmixtral.debug=true}.
     */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new MixtralCli());
        // picocli would replace an argument "@file" by the file's words; "--response-format @schema.json" reads the
        // file itself, whole (the interface of issue 11), so the expansion is off for every command
        cli.setExpandAtFiles(false);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // "mixtral: error: <file>: <what> (<tensor or key>)": the exceptions of a bad model file name the file
            // first and the key or tensor last; the message is made one line whatever it holds.
            commandLine.getErr().println("mixtral: error: " + ErrorLine.of(e));
            if (Boolean.getBoolean("mixtral.debug")) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli.execute(args);
    }
}
