package dev.expertmesh.launcher;

import dev.expertmesh.checkpoint.CheckpointException;
import dev.expertmesh.model.InvalidConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code expertmesh} command. */
@Command(name = "expertmesh", mixinStandardHelpOptions = true, version = "ExpertMesh 0.1.0",
        description = "Expert-parallel inference for DeepSeek-V2-Lite, DeepSeek-V2 and DeepSeek-V3.",
        subcommands = {GenerateCommand.class, ScoreCommand.class, TokenizeCommand.class, CommandLine.HelpCommand.class})
public final class ExpertMesh {
    private static final Logger log = LoggerFactory.getLogger(ExpertMesh.class);

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with ExpertMesh's error reporting: the cause in one line, the stack trace in the log. */
    public static CommandLine commandLine() {
        return new CommandLine(new ExpertMesh())
                .setExecutionExceptionHandler((e, cmd, parseResult) -> {
                    if (e instanceof InvalidConfigException || e instanceof CheckpointException
                            || e instanceof IllegalArgumentException || e instanceof java.io.IOException) {
                        cmd.getErr().println("error: " + e.getMessage());
                        log.debug("{} failed", cmd.getCommandName(), e);
                        return 2;
                    }
                    cmd.getErr().println("error: " + e + " (this is a bug in ExpertMesh; the stack trace follows)");
                    e.printStackTrace(cmd.getErr());
                    return 1;
                });
    }
}
