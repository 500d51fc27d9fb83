package dev.expertmesh.launcher;

import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks: a running cluster under load (serve), decode steps on a synthetic model (decode).",
        subcommands = {BenchServeCommand.class, BenchDecodeCommand.class})
final class BenchCommand {
}
