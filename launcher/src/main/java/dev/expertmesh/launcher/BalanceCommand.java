package dev.expertmesh.launcher;

import picocli.CommandLine.Command;

@Command(name = "balance", mixinStandardHelpOptions = true,
        description = "Expert load balancing: plans replicas and their GPUs from per-expert loads with DeepSeek's EPLB (plan), "
                + "has a running cluster place its experts again on the loads it has routed (apply), "
                + "and replays a routing trace against placement policies (simulate).",
        subcommands = {BalancePlanCommand.class, BalanceApplyCommand.class, BalanceSimulateCommand.class})
final class BalanceCommand {
}
