package org.mixtralspark.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/mixtral}: the engine's command line. The flags and the JSON it prints are a contract that other tools
 * and checks rely on (see the README).
 */
@Command(name = "mixtral", mixinStandardHelpOptions = true, version = "mixtral-spark 0.1.0",
        description = "Run Mixtral-family models on the CPU: generate, score labels, tokenize, inspect, bench, write random test models.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, InspectCommand.class, BenchCommand.class,
                RandomModelCommand.class, StructuredBenchCommand.class, ScoreCommand.class, EvalCommand.class})
public final class MixtralCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (0 = success). Errors go to stderr as one clear line. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new MixtralCli());
        // picocli would replace an argument "@file" by the file's words; "--response-format @schema.json" reads the
        // file itself, whole (the interface of issue 11), so the expansion is off for every command
        cli.setExpandAtFiles(false);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            commandLine.getErr().println("mixtral " + commandLine.getCommandName() + ": error: " + message);
            if (Boolean.getBoolean("mixtral.debug")) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli.execute(args);
    }
}
