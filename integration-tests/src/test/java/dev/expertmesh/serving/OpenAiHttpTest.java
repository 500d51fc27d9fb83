package dev.expertmesh.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAI-compatible HTTP API of a loopback cluster, through a real socket: greedy completions
 * and chats, whole and streamed, are the single-process engine's text; the event stream is framed
 * as OpenAI frames it; errors have OpenAI's shape and status; /metrics counts what was served.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiHttpTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int MAX_TOKENS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("system", "You are terse."),
            new ChatMessage("user", "What is a mixture of experts?"));

    private LoopbackCluster cluster;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    void start() throws Exception {
        cluster = new LoopbackCluster(MODEL);
    }

    @AfterAll
    void stop() throws Exception {
        http.close();
        cluster.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(cluster.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://" + LoopbackCluster.HOST + ":"
                + cluster.coordinator().httpPort() + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static ObjectNode greedy(Map<String, Object> fields) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", MODEL);
        body.put("max_tokens", MAX_TOKENS);
        body.put("temperature", 0);
        fields.forEach((k, v) -> body.set(k, JSON.valueToTree(v)));
        return body;
    }

    /** The engine's generation for the ids, and its text as the tokenizer decodes it (the eos that ends it is no text). */
    private record Expected(Generation generation, String text) {
    }

    private Expected expected(int[] promptIds) {
        Generation g = cluster.greedy(promptIds, MAX_TOKENS);
        int[] text = g.finishReason() == FinishReason.STOP ? Arrays.copyOf(g.tokenIds(), g.tokenIds().length - 1) : g.tokenIds();
        return new Expected(g, cluster.tokenizer().decode(text));
    }

    /**
     * The events of a server-sent stream; each must be one {@code data:} line followed by a blank line.
     * Comment lines ({@code :}, sent for tokens that give no text) are no events, and are skipped.
     */
    private static List<String> events(String body) {
        assertThat(body).endsWith("data: [DONE]\n\n");
        List<String> data = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            assertThat(event).doesNotContain("\n");
            if (event.startsWith(":")) {
                continue;
            }
            assertThat(event).startsWith("data: ");
            data.add(event.substring("data: ".length()));
        }
        assertThat(data.getLast()).isEqualTo("[DONE]");
        return data.subList(0, data.size() - 1);
    }

    @Test
    void aWholeCompletionIsTheEnginesGreedyText() throws Exception {
        String prompt = "Hello, world! The experts";
        Expected expected = expected(cluster.tokenizer().encode(prompt));
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", prompt)).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
        assertThat(body.get("id").asText()).startsWith("cmpl-");
        assertThat(body.get("model").asText()).isEqualTo(MODEL);
        JsonNode choice = body.get("choices").get(0);
        assertThat(expected.text()).isNotEmpty();
        assertThat(choice.get("text").asText()).isEqualTo(expected.text());
        assertThat(choice.get("finish_reason").asText()).isEqualTo(expected.generation().finishReason().apiName());
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(cluster.tokenizer().encode(prompt).length);
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(expected.generation().tokenIds().length);
    }

    @Test
    void aStopStringCutsTheTextBeforeIt() throws Exception {
        String prompt = "Hello, world! The experts";
        String text = expected(cluster.tokenizer().encode(prompt)).text();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", prompt, "stop", List.of(stop, "never in it"))).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("text").asText()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void theTokenThatEndsAGenerationIsNoText() throws Exception {
        String prompt = "Hello, world! The experts";
        int[] tokens = expected(cluster.tokenizer().encode(prompt)).generation().tokenIds();
        int stopToken = tokens[3];
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", prompt, "stop_token_ids", List.of(stopToken))).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        int generated = body.at("/usage/completion_tokens").asInt();
        assertThat(generated).isLessThanOrEqualTo(4);
        assertThat(tokens[generated - 1]).isEqualTo(stopToken);
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(body.at("/choices/0/text").asText()).isEqualTo(cluster.tokenizer().decode(Arrays.copyOf(tokens, generated - 1)));
    }

    @Test
    void aMaxTokensBeyondTheContextIsABadRequest() throws Exception {
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", "Hello", "max_tokens", cluster.config().maxPositionEmbeddings())).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/param").asText()).isEqualTo("max_tokens");
    }

    @Test
    void tokenIdPromptsAndLogprobsFollowTheEngine() throws Exception {
        int[] prompt = cluster.tokenizer().encode("Mixture-of-Experts");
        Expected expected = expected(prompt);
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", prompt, "logprobs", 2)).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("text").asText()).isEqualTo(expected.text());
        JsonNode logprobs = choice.get("logprobs");
        assertThat(logprobs.get("tokens")).hasSize(expected.generation().tokenIds().length);
        for (int i = 0; i < logprobs.get("tokens").size(); i++) {
            assertThat(logprobs.get("tokens").get(i).asText())
                    .isEqualTo(cluster.tokenizer().decode(new int[]{expected.generation().tokenIds()[i]}));
            assertThat(logprobs.get("token_logprobs").get(i).asDouble()).isLessThanOrEqualTo(0);
            assertThat(logprobs.get("top_logprobs").get(i).size()).isBetween(1, 2);
        }
        assertTokensAtTheirTextOffsets(expected.text(), logprobs);
    }

    /** Each token's text is found in the completion's text at its text_offset, counted in characters (code points). */
    private static void assertTokensAtTheirTextOffsets(String text, JsonNode logprobs) {
        JsonNode offsets = logprobs.get("text_offset");
        assertThat(offsets).hasSameSizeAs(logprobs.get("tokens"));
        assertThat(offsets.get(0).asInt()).isZero();
        int[] codePoints = text.codePoints().toArray();
        for (int i = 0; i < offsets.size(); i++) {
            String token = logprobs.get("tokens").get(i).asText();
            int at = offsets.get(i).asInt();
            if (at < codePoints.length) {
                assertThat(new String(codePoints, at, codePoints.length - at)).as("text at token %d's offset", i).startsWith(token);
            } else {
                assertThat(at).as("only the token that ends the text, eos, is past it").isEqualTo(codePoints.length);
            }
        }
    }

    @Test
    void streamedTextOffsetsContinueFromTheTextStreamedBefore() throws Exception {
        String prompt = "Offsets of the experts";
        HttpResponse<String> whole = post("/completions", greedy(Map.of("prompt", prompt, "logprobs", 1)).toString());
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode wholeOffsets = JSON.readTree(whole.body()).at("/choices/0/logprobs/text_offset");

        HttpResponse<String> streamed = post("/completions", greedy(Map.of("prompt", prompt, "logprobs", 1, "stream", true)).toString());
        int streamedChars = 0;
        int token = 0;
        boolean heldBack = false;
        for (String data : events(streamed.body())) {
            JsonNode choice = JSON.readTree(data).at("/choices/0");
            JsonNode logprobs = choice.get("logprobs");
            String text = choice.get("text").asText();
            if (!logprobs.isNull()) {
                // As vLLM's: a chunk's first token starts where the text streamed before it ends (a token
                // whose text is held back, there too), the next ones after the token texts before them.
                int expected = streamedChars;
                for (int i = 0; i < logprobs.get("tokens").size(); i++, token++) {
                    assertThat(logprobs.get("text_offset").get(i).asInt()).as("offset of token %d", token).isEqualTo(expected);
                    // Until text is first held back, the stream counts the text the whole response does.
                    heldBack |= text.isEmpty();
                    if (!heldBack) {
                        assertThat(expected).as("offset of token %d", token).isEqualTo(wholeOffsets.get(token).asInt());
                    }
                    String tokenText = logprobs.get("tokens").get(i).asText();
                    expected += tokenText.codePointCount(0, tokenText.length());
                }
            }
            streamedChars += text.codePointCount(0, text.length());
        }
        assertThat(token).isEqualTo(wholeOffsets.size());
    }

    @Test
    void aStreamedCompletionIsFramedAsOpenAiFramesItAndAddsUpToTheEnginesText() throws Exception {
        String prompt = "The quick brown fox";
        Expected expected = expected(cluster.tokenizer().encode(prompt));
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", List.of(prompt), "stream", true,
                "stream_options", Map.of("include_usage", true))).toString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<JsonNode> chunks = new ArrayList<>();
        for (String data : events(r.body())) {
            chunks.add(JSON.readTree(data));
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
            assertThat(chunk.get("object").asText()).isEqualTo("text_completion");
            assertThat(chunk.get("id").asText()).isEqualTo(chunks.getFirst().get("id").asText());
            assertThat(chunk.get("usage").isNull()).isTrue();
            text.append(chunk.at("/choices/0/text").asText());
        }
        assertThat(text.toString()).isEqualTo(expected.text());
        JsonNode last = chunks.get(chunks.size() - 2);
        assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo(expected.generation().finishReason().apiName());
        chunks.subList(0, chunks.size() - 2).forEach(c -> assertThat(c.at("/choices/0/finish_reason").isNull()).isTrue());
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(expected.generation().tokenIds().length);
    }

    @Test
    void aChatIsTheEnginesGreedyReplyToTheTemplatedConversation() throws Exception {
        Expected expected = expected(cluster.tokenizer().encodeChat(CHAT));
        List<Map<String, String>> messages = CHAT.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList();

        HttpResponse<String> whole = post("/chat/completions", greedy(Map.of("messages", messages)).toString());
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(whole.body());
        assertThat(body.get("object").asText()).isEqualTo("chat.completion");
        assertThat(body.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(body.at("/choices/0/message/content").asText()).isEqualTo(expected.text());
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo(expected.generation().finishReason().apiName());

        HttpResponse<String> streamed = post("/chat/completions", greedy(Map.of("messages", messages, "stream", true,
                "logprobs", true, "top_logprobs", 1)).toString());
        List<JsonNode> chunks = new ArrayList<>();
        for (String data : events(streamed.body())) {
            chunks.add(JSON.readTree(data));
        }
        assertThat(chunks.getFirst().at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        StringBuilder content = new StringBuilder();
        int logprobs = 0;
        for (JsonNode chunk : chunks) {
            assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
            content.append(chunk.at("/choices/0/delta/content").asText(""));
            logprobs += chunk.at("/choices/0/logprobs/content").size();
        }
        assertThat(content.toString()).isEqualTo(expected.text());
        assertThat(logprobs).isEqualTo(expected.generation().tokenIds().length);
        assertThat(chunks.getLast().at("/choices/0/delta").isEmpty()).isTrue();
        assertThat(chunks.getLast().at("/choices/0/finish_reason").asText()).isEqualTo(expected.generation().finishReason().apiName());
    }

    @Test
    void chatLogprobBytesAreEachTokensOwnBytesEvenForPiecesOfACharacter() throws Exception {
        // The tiny model's greedy reply to "Hi" has a character split over tokens, then completed.
        List<ChatMessage> chat = List.of(new ChatMessage("user", "Hi"));
        Expected expected = expected(cluster.tokenizer().encodeChat(chat));
        HttpResponse<String> r = post("/chat/completions", greedy(Map.of("messages", List.of(Map.of("role", "user", "content", "Hi")),
                "logprobs", true)).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode content = JSON.readTree(r.body()).at("/choices/0/logprobs/content");
        int[] ids = expected.generation().tokenIds();
        assertThat(content).hasSize(ids.length);
        // The random model's reply also has bytes that are no character: where its first tokens
        // decode to whole characters, their bytes together are those characters' UTF-8.
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        int wholeAfterASplit = 0;
        boolean split = false;
        for (int k = 1; k <= ids.length; k++) {
            content.get(k - 1).get("bytes").forEach(b -> joined.write(b.asInt()));
            split |= content.get(k - 1).get("token").asText().contains("\uFFFD");
            String text = cluster.tokenizer().decode(Arrays.copyOf(ids, k));
            if (!text.contains("\uFFFD")) {
                assertThat(joined.toByteArray()).as("bytes of the first %d tokens", k).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
                wholeAfterASplit += split ? 1 : 0;
            }
        }
        assertThat(wholeAfterASplit).as("prefixes of whole characters after a character split over tokens").isPositive();
    }

    @Test
    void mistakesGetOpenAisErrorShapeAndStatus() throws Exception {
        assertError(post("/completions", greedy(Map.of("prompt", "x", "n", 2)).toString()), 400, "n", null);
        assertError(post("/completions", greedy(Map.of("prompt", "x", "temperature", "hot")).toString()), 400, "temperature", null);
        assertError(post("/completions", greedy(Map.of("prompt", "x", "max_tokens", 0)).toString()), 400, "max_tokens", null);
        assertError(post("/completions", greedy(Map.of("prompt", List.of(5, 1 << 20))).toString()), 400, "prompt", null);
        assertError(post("/chat/completions", greedy(Map.of("messages", List.of(Map.of("role", "wizard", "content", "hi")))).toString()),
                400, "messages", null);
        assertError(post("/completions", greedy(Map.of("prompt", "x", "model", "gpt-4")).toString()), 404, "model", "model_not_found");
        assertError(post("/completions", greedy(Map.of("prompt", "x", "model", 5)).toString()), 400, "model", null);
        HttpResponse<String> tooManyTop = post("/chat/completions", greedy(Map.of("messages", List.of(Map.of("role", "user", "content", "hi")),
                "logprobs", true, "top_logprobs", 21)).toString());
        assertError(tooManyTop, 400, "top_logprobs", null);
        assertThat(JSON.readTree(tooManyTop.body()).at("/error/message").asText()).startsWith("top_logprobs must be");
        assertError(post("/completions", greedy(Map.of("prompt", "x", "stream_options", Map.of("include_usage", true))).toString()),
                400, "stream_options", null);
        assertError(post("/completions", "{not json"), 400, null, null);
        assertError(get("/v1/completions"), 405, null, "method_not_allowed");
        assertError(get("/v1/engines"), 404, null, null);
    }

    private static void assertError(HttpResponse<String> r, int status, String param, String code) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").isNull() ? null : error.get("param").asText()).isEqualTo(param);
        assertThat(error.get("code").isNull() ? null : error.get("code").asText()).isEqualTo(code);
    }

    @Test
    void modelsListsTheServedModel() throws Exception {
        HttpResponse<String> r = get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("object").asText()).isEqualTo("list");
        assertThat(body.at("/data/0/id").asText()).isEqualTo(MODEL);
        assertThat(body.at("/data/0/object").asText()).isEqualTo("model");
        assertThat(body.at("/data/0/max_model_len").asInt()).isEqualTo(cluster.config().maxPositionEmbeddings());
    }

    @Test
    void metricsCountTheRequestItsTokensAndTheirRoutes() throws Exception {
        int[] prompt = cluster.tokenizer().encode("Count me once");
        Expected expected = expected(prompt);
        String before = get("/metrics").body();
        HttpResponse<String> r = post("/completions", greedy(Map.of("prompt", prompt)).toString());
        assertThat(r.statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = get("/metrics");
        assertThat(metrics.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain; version=0.0.4"));
        String after = metrics.body();

        int generated = expected.generation().tokenIds().length;
        assertThat(value(after, "expertmesh_time_to_first_token_seconds_count") - value(before, "expertmesh_time_to_first_token_seconds_count"))
                .isEqualTo(1);
        assertThat(value(after, "expertmesh_time_to_first_token_seconds_bucket{le=\"+Inf\"}")
                - value(before, "expertmesh_time_to_first_token_seconds_bucket{le=\"+Inf\"}")).isEqualTo(1);
        assertThat(value(after, "expertmesh_time_per_output_token_seconds_count") - value(before, "expertmesh_time_per_output_token_seconds_count"))
                .isEqualTo(generated - 1);
        assertThat(value(after, "expertmesh_generation_tokens_total") - value(before, "expertmesh_generation_tokens_total")).isEqualTo(generated);
        assertThat(value(after, "expertmesh_prompt_tokens_total") - value(before, "expertmesh_prompt_tokens_total")).isEqualTo(prompt.length);
        assertThat(value(after, "expertmesh_num_requests_running")).isZero();
        assertThat(value(after, "expertmesh_num_requests_waiting")).isZero();
        assertThat(value(after, "expertmesh_kv_cache_blocks_used")).isZero();
        assertThat(value(after, "expertmesh_kv_cache_blocks_free")).isPositive();

        // Every token that went through the model (the prompt, and each generated token but the last)
        // was routed to top_k experts in each MoE layer, and counted once.
        var config = cluster.config();
        long moeLayers = java.util.stream.IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).count();
        long forwarded = prompt.length + generated - 1;
        assertThat(routedSum(after) - routedSum(before)).isEqualTo(forwarded * moeLayers * config.numExpertsPerTok());
        assertThat(after).contains("# TYPE expertmesh_time_to_first_token_seconds histogram")
                .contains("# TYPE expertmesh_expert_routed_tokens_total counter");
    }

    @Test
    void metricsTellEachWorkersStateAndNoRecoveryOnAHealthyCluster() throws Exception {
        String metrics = get("/metrics").body();

        // The loopback cluster: 2 expert workers and 1 attention worker, all serving.
        Matcher serving = Pattern.compile("^expertmesh_worker_state\\{node_id=\"[^\"]+\",role=\"(expert-worker|attention-worker)\","
                + "state=\"serving\"} 1$", Pattern.MULTILINE).matcher(metrics);
        List<String> roles = new ArrayList<>();
        while (serving.find()) {
            roles.add(serving.group(1));
        }
        assertThat(roles).containsExactlyInAnyOrder("expert-worker", "expert-worker", "attention-worker");
        assertThat(metrics).doesNotContainPattern("state=\"(loading|draining|gone|idle)\"} 1");
        assertThat(value(metrics, "expertmesh_recovery_seconds_count")).isZero();
        assertThat(value(metrics, "expertmesh_requests_retried_total")).isZero();
        assertThat(metrics).contains("# TYPE expertmesh_epoch_flips_total counter", "# TYPE expertmesh_recovery_seconds histogram");
    }

    private static long value(String metrics, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        assertThat(m.find()).as("%s in%n%s", series, metrics).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    private static long routedSum(String metrics) {
        Matcher m = Pattern.compile("^expertmesh_expert_routed_tokens_total\\{layer=\"\\d+\",expert=\"\\d+\"} (\\d+)$", Pattern.MULTILINE)
                .matcher(metrics);
        long sum = 0;
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
        }
        return sum;
    }

    @Test
    void aClientThatHangsUpWhileTokensGiveNoTextCancelsItsGeneration() throws Exception {
        // Without a tokenizer no token gives text: only the comment lines written for them reach the client.
        try (LoopbackCluster untokenized = new LoopbackCluster(MODEL, false, SchedulerLimits.DEFAULT, 64)) {
            String metricsUrl = "http://" + LoopbackCluster.HOST + ":" + untokenized.coordinator().httpPort() + "/metrics";
            ObjectNode body = greedy(Map.of("prompt", List.of(0, 5, 6, 7), "stream", true, "ignore_eos", true));
            body.put("max_tokens", untokenized.config().maxPositionEmbeddings() - 8);
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(untokenized.baseUrl() + "/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream events = r.body()) {
                byte[] first = new byte[3];
                assertThat(events.readNBytes(first, 0, 3)).isEqualTo(3);
                assertThat(new String(first, StandardCharsets.UTF_8)).isEqualTo(": \n");
            }
            untokenized.awaitIdle();
            String metrics = http.send(HttpRequest.newBuilder(URI.create(metricsUrl)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(value(metrics, "expertmesh_generation_tokens_total")).as("tokens generated before the hang-up was seen")
                    .isLessThan(body.get("max_tokens").asLong());
        }
    }

    @Test
    void aClientThatHangsUpCancelsItsGenerationAndFreesItsBlocks() throws Exception {
        ObjectNode body = greedy(Map.of("prompt", "Go on and on", "stream", true, "ignore_eos", true));
        body.put("max_tokens", cluster.config().maxPositionEmbeddings() - 8);
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(cluster.baseUrl() + "/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofInputStream());
        long generatedBefore = value(get("/metrics").body(), "expertmesh_generation_tokens_total");
        try (InputStream events = r.body()) {
            assertThat(events.read(new byte[64])).isPositive();
        }
        cluster.awaitIdle();
        long generated = value(get("/metrics").body(), "expertmesh_generation_tokens_total") - generatedBefore;
        assertThat(generated).as("tokens generated before the hang-up was seen").isLessThan(body.get("max_tokens").asLong());
    }
}
