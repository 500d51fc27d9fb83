package dev.expertmesh.launcher;

import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.transport.TlsFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "expert-worker", mixinStandardHelpOptions = true,
        description = "Runs an expert worker: joins the cluster and serves the routed experts the coordinator's shard map "
                + "places on it (and every shared expert and dense MLP) over Arrow Flight, stored as --quantize and "
                + "--quantize-attention say.")
final class ExpertWorkerCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        NodeOptions options = cluster.node(0);
        Optional<TlsFiles> tls = cluster.tls();
        QuantizationPlan plan = cluster.quantization();
        ComputeDevice device = cluster.device();
        ModelSource source = ModelSource.open(cluster.model());
        ExpertWorkerNode node = ExpertWorkerNode.start(options, source.weights(), source.config(), device, plan, tls);
        Serving.untilStopped(() -> {
            node.close();
            source.close();
            device.close();
        }, spec.commandLine().getOut(), "expert worker " + node.nodeId() + " serving Flight on port " + node.port());
        return 0;
    }
}
