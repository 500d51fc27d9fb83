package dev.expertmesh.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.tokenizer.ChatMessage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The HTTP API through a real OpenAI client, the {@code openai} npm package (installed by
 * {@code npm ci --prefix integration-tests/src/test/node}, which CI runs when npm is there): what it
 * reads from greedy completions and chats, whole and streamed, is the single-process engine's text.
 */
class OpenAiNodeClientTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int MAX_TOKENS = 12;
    private static final Path CLIENT_DIR = Path.of("src", "test", "node");
    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("user", "Which expert takes this token?"));
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theOpenAiNodeClientReadsTheEnginesGreedyText() throws Exception {
        assumeTrue(nodeRuns(), "node is not on the PATH: install Node.js 20 or later to run the openai client test");
        assumeTrue(Files.isDirectory(CLIENT_DIR.resolve("node_modules/openai")),
                "the openai package is not installed: run npm ci --prefix integration-tests/src/test/node");
        String prompt = "Experts of a mixture";
        try (LoopbackCluster cluster = new LoopbackCluster(MODEL)) {
            String completion = greedyText(cluster, cluster.tokenizer().encode(prompt));
            String chat = greedyText(cluster, cluster.tokenizer().encodeChat(CHAT));
            String spec = JSON.writeValueAsString(Map.of("model", MODEL, "prompt", prompt, "max_tokens", MAX_TOKENS,
                    "messages", CHAT.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList()));

            JsonNode seen = JSON.readTree(runClient(cluster.baseUrl(), spec));

            assertThat(seen.get("problems")).as("the client's own checks").isEmpty();
            assertThat(seen.get("models").get(0).asText()).isEqualTo(MODEL);
            assertThat(completion).isNotEmpty();
            assertThat(seen.at("/completion/text").asText()).isEqualTo(completion);
            assertThat(seen.get("streamedCompletion").asText()).isEqualTo(completion);
            assertThat(seen.at("/chat/content").asText()).isEqualTo(chat);
            assertThat(seen.get("streamedChat").asText()).isEqualTo(chat);
            assertThat(seen.at("/badRequest/status").asInt()).isEqualTo(400);
            assertThat(seen.at("/badRequest/param").asText()).isEqualTo("n");
        }
    }

    private static String greedyText(LoopbackCluster cluster, int[] promptIds) {
        Generation g = cluster.greedy(promptIds, MAX_TOKENS);
        return cluster.tokenizer().decode(g.tokenIds());
    }

    /** The client script's JSON report; its stderr and exit status are in the failure message when it fails. */
    private static String runClient(String baseUrl, String spec) throws Exception {
        Process p = new ProcessBuilder("node", "openai-client.mjs", baseUrl, spec).directory(CLIENT_DIR.toFile()).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("the client finished").isTrue();
        assertThat(p.exitValue()).as("the client's exit status; stdout:%n%s%nstderr:%n%s", out, err.get()).isZero();
        return out;
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean nodeRuns() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
