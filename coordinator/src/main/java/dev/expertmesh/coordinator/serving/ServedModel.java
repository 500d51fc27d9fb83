package dev.expertmesh.coordinator.serving;

/**
 * The model a coordinator serves, as /v1/models and ListModels describe it.
 *
 * @param name          the name requests use (the model directory's name unless configured)
 * @param modelType     config.json's model_type
 * @param maxModelLen   longest prompt plus output
 * @param vocabSize     token ids are below this
 * @param createdSeconds when serving started, in Unix seconds (OpenAI's {@code created})
 */
public record ServedModel(String name, String modelType, int maxModelLen, int vocabSize, long createdSeconds) {
}
