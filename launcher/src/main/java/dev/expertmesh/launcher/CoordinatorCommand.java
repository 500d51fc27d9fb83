package dev.expertmesh.launcher;

import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.transport.TransportOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = "Runs the coordinator: the gRPC API, the OpenAI-compatible HTTP API with /metrics, embeddings, routers and lm_head, with attention and experts "
                + "on the workers that join its cluster.")
final class CoordinatorCommand implements Callable<Integer> {
    static final int DEFAULT_PORT = 50051;

    @Mixin
    ClusterOptions cluster;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        NodeOptions options = cluster.node(DEFAULT_PORT);
        TransportOptions transport = cluster.transport();
        ServingOptions serving = cluster.serving();
        // Its own weights (embeddings, routers, lm_head) are never quantized; checked all the same, so that a
        // config file shared with the workers is refused here too when it names no format.
        cluster.quantization();
        ComputeDevice device = cluster.device();
        ModelSource source = ModelSource.open(cluster.model());
        CoordinatorNode node = CoordinatorNode.start(options, source.weights(), source.config(), device,
                transport, cluster.placement(), serving);
        Serving.untilStopped(() -> {
            node.close();
            source.close();
            device.close();
            serving.tokenizer().ifPresent(Tokenizer::close);
        }, spec.commandLine().getOut(), "coordinator " + node.nodeId() + " serving " + serving.modelName() + ", gRPC on port " + node.port()
                + ", HTTP on port " + node.httpPort());
        return 0;
    }
}
