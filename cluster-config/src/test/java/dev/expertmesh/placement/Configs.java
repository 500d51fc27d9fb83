package dev.expertmesh.placement;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.model.ModelConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Published model configs from core's test resources. */
public final class Configs {
    private Configs() {
    }

    /** DeepSeek-V2-Lite: 27 layers, the first dense, 64 routed experts in each of the other 26. */
    public static ModelConfig v2Lite() {
        try (InputStream in = Configs.class.getResourceAsStream("/configs/deepseek-v2-lite.json")) {
            return ModelConfig.parse(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
