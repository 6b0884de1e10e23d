package org.mixtralspark.engine.cli;

import picocli.CommandLine.Command;

/** {@code mixtral eval}: long-context measurements of a checkpoint (perplexity by length, passkey retrieval). */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Measure a checkpoint: perplexity by context length, passkey retrieval by length and depth.",
        subcommands = {PerplexityCommand.class, PasskeyCommand.class})
final class EvalCommand {
}
