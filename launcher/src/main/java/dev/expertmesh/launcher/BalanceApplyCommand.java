package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.proto.RebalanceResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "apply", mixinStandardHelpOptions = true,
        description = "Has a coordinator place the experts again with its --placement policy on the tokens routed so far. A "
                + "new map is published only if it differs; the workers load it while the cluster serves, and the coordinator "
                + "flips to it between steps, so no request fails. Watch the flip with expertmesh status (serving epoch).")
final class BalanceApplyCommand implements Callable<Integer> {
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's gRPC address.")
    String coordinator;

    @Mixin
    CoordinatorAccess access;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        RebalanceResponse response;
        try (ExpertMeshClient client = access.client().address(coordinator).defaultDeadline(DEADLINE).build()) {
            response = client.rebalance();
        }
        spec.commandLine().getOut().println(response.getEpoch() == response.getPreviousEpoch()
                ? "the placement came out the same: shard map epoch " + response.getEpoch() + " stays"
                : "published shard map epoch " + response.getEpoch() + " (was " + response.getPreviousEpoch()
                        + "): the workers load it, then the coordinator flips to it");
        return 0;
    }
}
