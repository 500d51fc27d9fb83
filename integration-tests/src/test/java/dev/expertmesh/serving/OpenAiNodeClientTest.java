package dev.expertmesh.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.tokenizer.ChatMessage;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP API through a real OpenAI client, the {@code openai} npm package (installed by
 * {@code npm ci --prefix integration-tests/src/test/node}, which CI runs when npm is there): what it
 * reads from greedy completions and chats, whole and streamed, is the single-process engine's text.
 */
class OpenAiNodeClientTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int MAX_TOKENS = 12;
    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("user", "Which expert takes this token?"));
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theOpenAiNodeClientReadsTheEnginesGreedyText() throws Exception {
        NodeScripts.assumeAvailable();
        String prompt = "Experts of a mixture";
        try (LoopbackCluster cluster = new LoopbackCluster(MODEL)) {
            String completion = greedyText(cluster, cluster.tokenizer().encode(prompt));
            String chat = greedyText(cluster, cluster.tokenizer().encodeChat(CHAT));
            String spec = JSON.writeValueAsString(Map.of("model", MODEL, "prompt", prompt, "max_tokens", MAX_TOKENS,
                    "messages", CHAT.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList()));

            JsonNode seen = JSON.readTree(NodeScripts.run("openai-client.mjs", cluster.baseUrl(), spec));

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
}
