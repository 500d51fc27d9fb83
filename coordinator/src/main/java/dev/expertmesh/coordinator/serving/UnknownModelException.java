package dev.expertmesh.coordinator.serving;

/** A request names a model this server does not serve: HTTP answers 404 model_not_found, as OpenAI does. */
public final class UnknownModelException extends InvalidRequestException {

    public UnknownModelException(String model, String served) {
        super("model", "the model '" + model + "' does not exist: this server serves '" + served + "'");
    }
}
