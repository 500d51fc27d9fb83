package dev.expertmesh.coordinator;

import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.tokenizer.Tokenizer;

import java.util.Optional;

/**
 * How the coordinator serves its model.
 *
 * @param modelName the name requests and /v1/models use
 * @param tokenizer for text in and out; without one, requests must give token ids
 * @param limits    the scheduler's
 */
public record ServingOptions(String modelName, Optional<Tokenizer> tokenizer, SchedulerLimits limits) {
}
