package dev.expertmesh.engine;

import java.util.Locale;

/** Why a generation ended, by the names OpenAI-style APIs use. */
public enum FinishReason {
    /** An end-of-sequence token was produced. */
    STOP,
    /** max tokens, or the model's context length, was reached. */
    LENGTH;

    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
