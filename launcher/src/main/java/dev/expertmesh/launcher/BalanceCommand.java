package dev.expertmesh.launcher;

import picocli.CommandLine.Command;

@Command(name = "balance", mixinStandardHelpOptions = true,
        description = "Expert load balancing: plans replicas and their GPUs from per-expert loads with DeepSeek's EPLB (plan).",
        subcommands = {BalancePlanCommand.class})
final class BalanceCommand {
}
