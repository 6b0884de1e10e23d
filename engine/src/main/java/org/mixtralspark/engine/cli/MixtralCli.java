package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.sampling.NumberParam;
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

    /**
     * Runs the command line and returns the exit code (0 = success). A failure is one line on stderr,
     * {@code mixtral: error: <what>}; the stack trace only with {@code -Dmixtral.debug=true}.
     */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new MixtralCli());
        // picocli would replace an argument "@file" by the file's words; "--response-format @schema.json" reads the
        // file itself, whole (the interface of issue 11), so the expansion is off for every command
        cli.setExpandAtFiles(false);
        // picocli reads 1e39 as a float Infinity, which the sampling rules would then call "Infinity"
        CommandLine.ITypeConverter<Float> finite = text -> (float) NumberParam.finiteFloat("value", text);
        cli.registerConverter(Float.class, finite);
        cli.registerConverter(float.class, finite);
        // picocli calls 1e12 "not an int" where it is a whole number out of range: say what is wrong with a number
        CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
        cli.setParameterExceptionHandler((e, badArgs) -> usage.handleParseException(explained(e), badArgs));
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

    private static CommandLine.ParameterException explained(CommandLine.ParameterException e) {
        if (e.getArgSpec() instanceof CommandLine.Model.OptionSpec opt && e.getValue() != null
                && opt.converters().length == 0) {
            String why = NumberParam.whyNot(opt.longestName(), e.getValue(), opt.type(),
                    opt.longestName().equals("--max-new-tokens") ? 1 : 0);
            if (why != null) {
                return new CommandLine.ParameterException(e.getCommandLine(), why, e, e.getArgSpec(), e.getValue());
            }
        }
        return e;
    }
}
