package dev.expertmesh.launcher;

import dev.expertmesh.checkpoint.CheckpointException;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.model.InvalidConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.expertmesh.release.Release;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** The {@code expertmesh} command. */
@Command(name = "expertmesh", mixinStandardHelpOptions = true, versionProvider = ExpertMesh.Version.class,
        description = "Expert-parallel inference for DeepSeek-V2-Lite, DeepSeek-V2 and DeepSeek-V3.",
        subcommands = {GenerateCommand.class, ScoreCommand.class, EvalCommand.class, TokenizeCommand.class, LocalCommand.class,
                CoordinatorCommand.class, ExpertWorkerCommand.class, AttentionWorkerCommand.class, StatusCommand.class, BenchCommand.class, BalanceCommand.class,
                HealthCommand.class, CertsCommand.class, CommandLine.HelpCommand.class})
public final class ExpertMesh {
    private static final Logger log = LoggerFactory.getLogger(ExpertMesh.class);

    /** What --version prints: the release's one version, the one /version serves too. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"ExpertMesh " + Release.version()};
        }
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with ExpertMesh's error reporting: the cause in one line, the stack trace in the log. */
    public static CommandLine commandLine() {
        return new CommandLine(new ExpertMesh())
                .setExecutionExceptionHandler((e, cmd, parseResult) -> {
                    if (e instanceof InvalidConfigException || e instanceof CheckpointException || e instanceof ExpertMeshException
                            || e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof IOException) {
                        cmd.getErr().println("error: " + describe(e));
                        log.debug("{} failed", cmd.getCommandName(), e);
                        return 2;
                    }
                    cmd.getErr().println("error: " + e + " (a bug in ExpertMesh: please report it with the stack trace that follows)");
                    e.printStackTrace(cmd.getErr());
                    return 1;
                });
    }

    /** The one line a user sees: file-system errors carry only a path as their message, so name the problem too. */
    private static String describe(Exception e) {
        return switch (e) {
            case NoSuchFileException missing -> missing.getFile() + ": no such file or directory";
            case AccessDeniedException denied -> denied.getFile() + ": permission denied";
            default -> e.getMessage();
        };
    }
}
