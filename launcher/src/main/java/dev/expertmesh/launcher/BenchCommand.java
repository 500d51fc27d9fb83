package dev.expertmesh.launcher;

import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks of a running cluster.",
        subcommands = BenchServeCommand.class)
final class BenchCommand {
}
