package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.LayerLoad;
import dev.expertmesh.proto.WorkerStatus;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * GET /experts/load.json, what the expert-load page draws: the epochs, the routing window's steps,
 * per MoE layer each expert's window tokens and each expert worker's, and the workers' states.
 */
final class ExpertLoadJson implements HttpHandler {
    private final Supplier<ClusterStatus> status;

    /** {@code status}: the cluster's status with the routing window's load (IllegalStateException while starting). */
    ExpertLoadJson(Supplier<ClusterStatus> status) {
        this.status = status;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        ObjectNode body;
        try {
            body = of(status.get());
        } catch (RuntimeException e) {
            HttpExchanges.sendError(exchange, ApiError.of(e));
            return;
        }
        // The page polls it: a cached answer would freeze the heatmap.
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        HttpExchanges.sendJson(exchange, 200, body);
    }

    static ObjectNode of(ClusterStatus status) {
        ObjectNode root = HttpExchanges.JSON.createObjectNode();
        root.put("epoch", status.getShardMap().getEpoch());
        root.put("serving_epoch", status.getServingEpoch());
        root.put("window_steps", status.getWindowSteps());
        root.put("window_capacity", status.getWindowCapacity());
        Map<Integer, long[]> experts = expertTokens(status);
        ArrayNode layers = root.putArray("layers");
        for (LayerLoad load : status.getLayerLoadsList()) {
            ObjectNode layer = layers.addObject();
            layer.put("layer", load.getLayer());
            layer.put("balancedness", load.getBalancedness());
            ArrayNode tokens = layer.putArray("experts");
            for (long t : experts.getOrDefault(load.getLayer(), new long[0])) {
                tokens.add(t);
            }
            ObjectNode workers = layer.putObject("workers");
            new TreeMap<>(load.getWorkerTokensMap()).forEach(workers::put);
        }
        ArrayNode workers = root.putArray("workers");
        for (WorkerStatus w : status.getWorkersList()) {
            workers.addObject().put("node_id", w.getNodeId()).put("role", w.getRole().name()).put("state", w.getState().name());
        }
        return root;
    }

    /** Per layer, each expert's window tokens, indexed by expert; the shard map places every routed expert. */
    private static Map<Integer, long[]> expertTokens(ClusterStatus status) {
        Map<Integer, Integer> width = new TreeMap<>();
        for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
            width.merge(p.getLayer(), p.getExpert() + 1, Math::max);
        }
        Map<Integer, long[]> tokens = new TreeMap<>();
        width.forEach((layer, n) -> tokens.put(layer, new long[n]));
        for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
            tokens.get(p.getLayer())[p.getExpert()] = p.getWindowTokens();
        }
        return tokens;
    }
}
