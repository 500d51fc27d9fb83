package dev.expertmesh.launcher;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code balance simulate --html}: one self-contained page (inline CSS and script, nothing fetched) drawing the
 * report's JSON, which it carries inline: a layer × expert heatmap of the tokens and each policy's tokens per
 * worker, for one layer or all.
 */
final class SimulationHtml {
    private static final String TEMPLATE = "simulation-report.html";
    private static final String DATA = "__DATA__";

    private SimulationHtml() {
    }

    static void write(SimulationReport report, Path file) throws IOException {
        try {
            Files.writeString(file, page(report));
        } catch (IOException e) {
            throw new IOException("--html " + file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static String page(SimulationReport report) throws JsonProcessingException {
        // No "<" inside the script element, so that no string in the data can close it.
        String data = new ObjectMapper().writeValueAsString(report.htmlData()).replace("<", "\\u003c");
        return template().replace(DATA, data);
    }

    private static String template() {
        try (InputStream in = SimulationHtml.class.getResourceAsStream(TEMPLATE)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("the HTML template " + TEMPLATE + " is missing from the jar", e);
        }
    }
}
