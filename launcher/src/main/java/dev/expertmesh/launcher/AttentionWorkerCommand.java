package dev.expertmesh.launcher;

import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.transport.TlsFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "attention-worker", mixinStandardHelpOptions = true,
        description = "Runs an attention worker: joins the cluster and runs MLA for the sequences the coordinator assigns, "
                + "holding their paged latent KV cache; its projections are quantized only with --quantize-attention.")
final class AttentionWorkerCommand implements Callable<Integer> {
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
        AttentionWorkerNode node = AttentionWorkerNode.start(options, source.weights(), source.config(), device,
                plan, cluster.blockTokens(), cluster.cacheBlocks(), tls);
        Serving.untilStopped(() -> {
            node.close();
            source.close();
            device.close();
        }, spec.commandLine().getOut(), "attention worker " + node.nodeId() + " serving Flight on port " + node.port());
        return 0;
    }
}
