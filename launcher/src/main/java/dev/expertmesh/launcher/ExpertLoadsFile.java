package dev.expertmesh.launcher;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A JSON file of per-expert loads, {"weight": [[...], ...]}: one row per MoE layer, one load per expert, as EPLB takes them. */
final class ExpertLoadsFile {
    private static final String FORMAT = "give a JSON file {\"weight\": [[...], ...]}, one row of expert loads per MoE layer";

    private ExpertLoadsFile() {
    }

    /** weight[layer][expert], in float32 as EPLB balances them. */
    static float[][] read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file (" + FORMAT + ")");
        }
        JsonNode weight;
        try {
            weight = new ObjectMapper().readTree(file.toFile()).path("weight");
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not JSON: " + e.getOriginalMessage() + " at line " + e.getLocation().getLineNr()
                    + " (" + FORMAT + ")");
        }
        if (!weight.isArray() || weight.isEmpty()) {
            throw new IllegalArgumentException(file + ": no \"weight\" rows (" + FORMAT + ")");
        }
        float[][] loads = new float[weight.size()][];
        for (int layer = 0; layer < loads.length; layer++) {
            loads[layer] = row(file, weight.get(layer), layer);
        }
        return loads;
    }

    private static float[] row(Path file, JsonNode row, int layer) {
        if (!row.isArray()) {
            throw new IllegalArgumentException(file + ": weight[" + layer + "] is not a list of loads (" + FORMAT + ")");
        }
        float[] loads = new float[row.size()];
        for (int e = 0; e < loads.length; e++) {
            if (!row.get(e).isNumber()) {
                throw new IllegalArgumentException(file + ": weight[" + layer + "][" + e + "] is " + row.get(e) + ", not a number (" + FORMAT + ")");
            }
            loads[e] = row.get(e).floatValue();
        }
        return loads;
    }
}
