package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.coordinator.routing.RoutingTrace;
import dev.expertmesh.launcher.Commands.Run;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** balance simulate as a user runs it, on the demo model (layers 1 to 3 of 16 routed experts). */
class BalanceSimulateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Row(long step, int layer, int expert, long tokens) {
    }

    /** Two steps; experts 0 to 3 of every MoE layer take 50 tokens a step, the others 1 in step 0 only. */
    private static List<Row> hotFirstFour() {
        List<Row> rows = new ArrayList<>();
        for (int step = 0; step < 2; step++) {
            for (int layer = 1; layer <= 3; layer++) {
                for (int e = 0; e < 16; e++) {
                    if (e < 4 || step == 0) {
                        rows.add(new Row(step, layer, e, e < 4 ? 50 : 1));
                    }
                }
            }
        }
        return rows;
    }

    private static Path trace(Path dir, List<Row> rows) throws Exception {
        Path file = dir.resolve("routing.arrows");
        try (RoutingTraceFile trace = RoutingTraceFile.create(file)) {
            rows.forEach(r -> trace.tokens(r.step(), r.layer(), r.expert(), r.tokens()));
        }
        return file;
    }

    private static List<Row> read(Path file) throws Exception {
        List<Row> rows = new ArrayList<>();
        RoutingTraceFile.read(file, (step, layer, expert, tokens) -> rows.add(new Row(step, layer, expert, tokens)));
        return rows;
    }

    @Test
    void aTraceComesBackRowForRowFromTheStreamAndTheFileFormat(@TempDir Path dir) throws Exception {
        assertThat(read(trace(dir, hotFirstFour()))).isEqualTo(hotFirstFour());

        // what pyarrow's and polars' write_ipc write: the file format, with the coordinator's schema
        Path file = dir.resolve("routing.arrow");
        try (RootAllocator allocator = new RootAllocator(); VectorSchemaRoot root = VectorSchemaRoot.create(RoutingTrace.SCHEMA, allocator);
             ArrowFileWriter writer = new ArrowFileWriter(root, null, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE))) {
            writer.start();
            ((BigIntVector) root.getVector("step")).setSafe(0, 3);
            ((BigIntVector) root.getVector("unix_ms")).setSafe(0, 1_700_000_000_000L);
            ((IntVector) root.getVector("layer")).setSafe(0, 2);
            ((IntVector) root.getVector("expert")).setSafe(0, 9);
            ((BigIntVector) root.getVector("tokens")).setSafe(0, 12);
            root.setRowCount(1);
            writer.writeBatch();
            writer.end();
        }
        assertThat(read(file)).containsExactly(new Row(3, 2, 9, 12));
    }

    @Test
    void jsonComparesThePoliciesOnOneLine(@TempDir Path dir) throws Exception {
        Run r = Commands.run("balance", "simulate", "--trace", trace(dir, hotFirstFour()).toString(), "--model", "demo", "--workers", "2",
                "--policy", "contiguous,eplb-global", "--format", "json");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).doesNotContain("\n");
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("steps").asLong()).isEqualTo(2);
        assertThat(json.get("tokens").asLong()).isEqualTo(3 * (2 * 4 * 50 + 12));
        JsonNode contiguous = json.get("policies").get(0);
        JsonNode eplb = json.get("policies").get(1);
        // contiguous: worker-0 hosts experts 0-7 (400 + 4), worker-1 8-15 (8); EPLB: two hot and six cold each (206)
        assertThat(contiguous.get("policy").asText()).isEqualTo("contiguous");
        assertThat(contiguous.get("layers").get(0).get("worker_loads")).isEqualTo(JSON.readTree("[404.0, 8.0]"));
        assertThat(contiguous.get("max_over_mean").asDouble()).isCloseTo(404.0 / 206, within(1e-12));
        assertThat(contiguous.get("step_time_gain").asDouble()).isEqualTo(1);
        assertThat(eplb.get("layers").get(2).get("worker_loads")).isEqualTo(JSON.readTree("[206.0, 206.0]"));
        assertThat(eplb.get("step_time_gain").asDouble()).isCloseTo(404.0 / 206, within(1e-12));
        assertThat(eplb.get("workers").get(1).get("memory_bytes").asLong()).isEqualTo(3 * 8 * 3 * 128 * 256 * 2);
    }

    @Test
    void textShowsThePoliciesSideBySide(@TempDir Path dir) throws Exception {
        Run r = Commands.run("balance", "simulate", "--trace", trace(dir, hotFirstFour()).toString(), "--model", "demo", "--workers", "2",
                "--redundant", "2");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("2 steps, 1236 tokens routed through 3 MoE layers of 16 experts")
                .contains("2 workers on 1 node(s), 2 redundant experts, each policy placed on the whole trace's loads")
                .containsPattern("(?m)^contiguous +\\d\\.\\d{3} +\\d\\.\\d{3} \\(layer \\d\\) +1\\.000x")
                .containsPattern("(?m)^eplb-global +1\\.000 ")
                .contains("EPLB-HIERARCHICAL", "MEMORY-WEIGHTED")
                .containsPattern("(?m)^3 +( +\\d\\.\\d{3}){4}$")
                .containsPattern("(?m)^worker-1 ");
    }

    @Test
    void aSyntheticTraceWrittenOutReplaysToTheSameReportWithItsHtml(@TempDir Path dir) throws Exception {
        Path written = dir.resolve("synthetic.arrows");
        Path html = dir.resolve("report.html");
        String[] common = {"--model", "demo", "--workers", "4", "--redundant", "4", "--window-steps", "50", "--format", "json"};

        Run synthetic = Commands.run(concat(new String[]{"balance", "simulate", "--synthetic", "zipf:1.2,drift:100", "--steps", "300",
                "--tokens-per-step", "16", "--seed", "5", "--write-trace", written.toString(), "--html", html.toString()}, common));
        Run replayed = Commands.run(concat(new String[]{"balance", "simulate", "--trace", written.toString()}, common));

        assertThat(synthetic.exitCode()).as(synthetic.err()).isZero();
        assertThat(replayed.exitCode()).as(replayed.err()).isZero();
        JsonNode first = JSON.readTree(synthetic.out());
        JsonNode second = JSON.readTree(replayed.out());
        assertThat(first.get("windows").asInt()).isEqualTo(6);
        assertThat(second.get("policies")).isEqualTo(first.get("policies"));
        assertThat(second.get("tokens")).isEqualTo(first.get("tokens"));

        String page = Files.readString(html);
        assertThat(page).contains("<canvas id=\"heatmap\">").doesNotContain("http://", "https://", "<link", "src=");
        JsonNode data = JSON.readTree(embeddedData(page));
        assertThat(data.get("layers")).isEqualTo(JSON.readTree("[1, 2, 3]"));
        assertThat(data.get("expert_loads")).hasSize(3).allSatisfy(row -> assertThat(row).hasSize(16));
        long heatmapTokens = 0;
        for (JsonNode row : data.get("expert_loads")) {
            for (JsonNode cell : row) {
                heatmapTokens += cell.asLong();
            }
        }
        assertThat(heatmapTokens).isEqualTo(300L * 16 * 4 * 3);
        assertThat(data.get("policies")).isEqualTo(first.get("policies"));
    }

    @Test
    void aMissingTraceIsOneLineWithTheFix(@TempDir Path dir) {
        Path missing = dir.resolve("nope.arrows");

        Run r = Commands.run("balance", "simulate", "--trace", missing.toString(), "--workers", "2");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("error: " + missing + ": no such file (record one with expertmesh coordinator --record-routing FILE, "
                + "or use --synthetic)" + System.lineSeparator());
    }

    @Test
    void anUnknownPolicyIsOneLineWithThePolicies() {
        Run r = Commands.run("balance", "simulate", "--synthetic", "zipf:1", "--workers", "2", "--policy", "contiguous,random");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("error: --policy random: expected a comma-separated list of contiguous, eplb-global, "
                + "eplb-hierarchical, memory-weighted" + System.lineSeparator());
    }

    @Test
    void aTraceOfAnotherModelSaysWhichModelToName(@TempDir Path dir) throws Exception {
        Run r = Commands.run("balance", "simulate", "--trace", trace(dir, List.of(new Row(0, 1, 40, 3))).toString(), "--model", "demo",
                "--workers", "2");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("error: step 0 layer 1 expert 40: the model has 16 routed experts "
                + "(give --model DIR of the model the trace was recorded on)" + System.lineSeparator());
    }

    @Test
    void aFileThatIsNotArrowIsOneLine(@TempDir Path dir) throws Exception {
        Path notArrow = Files.writeString(dir.resolve("loads.json"), "{\"weight\": [[1, 2]]}");

        Run r = Commands.run("balance", "simulate", "--trace", notArrow.toString(), "--workers", "2");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: " + notArrow + ": not an Arrow IPC routing trace: ").hasLineCount(1);
    }

    private static String embeddedData(String page) {
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL).matcher(page);
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
