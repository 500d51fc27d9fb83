package dev.expertmesh.client;

/**
 * A model a coordinator serves.
 *
 * @param id          the name requests use
 * @param modelType   "deepseek_v2" or "deepseek_v3"
 * @param maxModelLen longest prompt plus output
 * @param vocabSize   token ids are below this
 */
public record ModelInfo(String id, String modelType, int maxModelLen, int vocabSize) {
}
