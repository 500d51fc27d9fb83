package dev.expertmesh.serving;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The expert-load page in a real headless Chromium: after a completion, the heatmap its script
 * drew holds, cell for cell, the window's tokens that the coordinator's status reports over gRPC.
 */
class ExpertLoadPageTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int MAX_TOKENS = 5;
    private static final Pattern CELL = Pattern.compile("<td([^>]*)>");
    private static final Pattern WORKER = Pattern.compile("<div class=\"worker\"([^>]*)>");

    @Test
    void theRenderedHeatmapHoldsTheWindowsTokens(@TempDir Path profile) throws Exception {
        Optional<Path> chromium = chromium();
        assumeTrue(chromium.isPresent(), "no chromium on the PATH: install Debian's chromium to check the expert-load page");
        int[] prompt = {3, 17, 42, 99, 7, 250};
        try (LoopbackCluster cluster = new LoopbackCluster(MODEL, false, SchedulerLimits.DEFAULT, 64);
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            cluster.completeGreedy(http, prompt, MAX_TOKENS);
            ClusterStatus status;
            try (ExpertMeshClient client = ExpertMeshClient.builder().address(cluster.address()).build()) {
                status = client.status();
            }

            String dom = dumpDom(chromium.get(), profile, "http://" + LoopbackCluster.HOST + ":" + cluster.coordinator().httpPort() + "/experts");

            ModelConfig config = cluster.config();
            long routed = (long) (prompt.length + MAX_TOKENS - 1) * moeLayers(config) * config.numExpertsPerTok();
            Map<List<Integer>, Long> cells = cells(dom);
            assertThat(cells).as("one cell per MoE layer and routed expert").hasSize(moeLayers(config) * config.nRoutedExperts());
            assertThat(cells).isEqualTo(windowTokens(status));
            assertThat(cells.values().stream().mapToLong(Long::longValue).sum()).as("every routed token").isEqualTo(routed);
            assertThat(attribute(dom, "id", "serving-epoch")).isEqualTo(String.valueOf(status.getServingEpoch()));
            assertThat(workerTokens(dom)).as("both expert workers, sharing every routed token").hasSize(2)
                    .allSatisfy(tokens -> assertThat(tokens).isPositive())
                    .satisfies(tokens -> assertThat(tokens.stream().mapToLong(Long::longValue).sum()).isEqualTo(routed));
        }
    }

    /** Debian names it chromium; some distributions chromium-browser. */
    private static Optional<Path> chromium() {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .flatMap(dir -> List.of(Path.of(dir, "chromium"), Path.of(dir, "chromium-browser")).stream())
                .filter(Files::isExecutable).findFirst();
    }

    /** The DOM once the page's script has fetched the load and drawn it (virtual time runs its first poll). */
    private static String dumpDom(Path chromium, Path profile, String url) throws Exception {
        Path out = profile.resolve("dom.html");
        Process browser = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--user-data-dir=" + profile.resolve("profile"),
                "--virtual-time-budget=5000", "--dump-dom", url)
                .redirectOutput(out.toFile()).redirectError(profile.resolve("stderr.txt").toFile()).start();
        assertThat(browser.waitFor(60, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        assertThat(browser.exitValue()).as(Files.readString(profile.resolve("stderr.txt"))).isZero();
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** The heatmap's cells: (layer, expert) to the tokens the cell shows. */
    private static Map<List<Integer>, Long> cells(String dom) {
        Map<List<Integer>, Long> cells = new HashMap<>();
        Matcher m = CELL.matcher(dom);
        while (m.find()) {
            String attrs = m.group(1);
            cells.put(List.of(Integer.parseInt(data(attrs, "layer")), Integer.parseInt(data(attrs, "expert"))),
                    Long.parseLong(data(attrs, "tokens")));
        }
        return cells;
    }

    private static List<Long> workerTokens(String dom) {
        return WORKER.matcher(dom).results().map(m -> Long.parseLong(data(m.group(1), "tokens"))).toList();
    }

    private static String data(String attrs, String name) {
        Matcher m = Pattern.compile("data-" + name + "=\"([^\"]*)\"").matcher(attrs);
        assertThat(m.find()).as("data-%s in %s", name, attrs).isTrue();
        return m.group(1);
    }

    /** The text of the element whose {@code name} attribute is {@code value}. */
    private static String attribute(String dom, String name, String value) {
        Matcher m = Pattern.compile(name + "=\"" + value + "\"[^>]*>([^<]*)<").matcher(dom);
        assertThat(m.find()).as("%s=%s in the page", name, value).isTrue();
        return m.group(1);
    }

    private static Map<List<Integer>, Long> windowTokens(ClusterStatus status) {
        Map<List<Integer>, Long> tokens = new HashMap<>();
        for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
            tokens.put(List.of(p.getLayer(), p.getExpert()), p.getWindowTokens());
        }
        return tokens;
    }

    private static int moeLayers(ModelConfig config) {
        return (int) IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).count();
    }
}
