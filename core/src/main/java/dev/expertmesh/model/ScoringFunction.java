package dev.expertmesh.model;

/** config.json's scoring_func: how router logits become expert scores. */
public enum ScoringFunction {
    SOFTMAX, SIGMOID;

    static ScoringFunction fromConfig(String name) {
        return switch (name) {
            case "softmax" -> SOFTMAX;
            case "sigmoid" -> SIGMOID;
            default -> throw new InvalidConfigException("scoring_func '" + name + "' is not supported (expected softmax or sigmoid)");
        };
    }
}
