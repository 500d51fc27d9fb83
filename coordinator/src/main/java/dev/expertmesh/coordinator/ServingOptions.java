package dev.expertmesh.coordinator;

import dev.expertmesh.coordinator.access.ApiKeys;
import dev.expertmesh.coordinator.routing.RoutingOptions;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.tokenizer.Tokenizer;

import java.util.Optional;

/**
 * How the coordinator serves its model.
 *
 * @param modelName the name requests and /v1/models use
 * @param tokenizer for text in and out; without one, requests must give token ids
 * @param limits    the scheduler's
 * @param httpPort  of the OpenAI-compatible HTTP API and /metrics; 0 takes a free port
 * @param routing   the routing load window and trace
 * @param apiKeys   the keys every /v1 HTTP request and Inference gRPC call must carry; none: the APIs are open
 */
public record ServingOptions(String modelName, Optional<Tokenizer> tokenizer, SchedulerLimits limits, int httpPort, RoutingOptions routing,
                             Optional<ApiKeys> apiKeys) {
    /** vLLM's port, which OpenAI clients pointed at a local server expect. */
    public static final int DEFAULT_HTTP_PORT = 8000;
}
