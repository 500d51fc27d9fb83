package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.coordinator.PlacementOptions;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.coordinator.access.ApiKeys;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.transport.TransportOptions;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * How a node joins the cluster and serves: flags, over the keys of a YAML file (--config) of the
 * same names, over the defaults.
 */
final class ClusterOptions {
    /**
     * 1024 blocks of 64 tokens: 64k tokens of cache, at most 4 GB of heap for DeepSeek-V2-Lite (27 layers of
     * 576 fp32 values a token); blocks are allocated as sequences need them.
     */
    static final int DEFAULT_CACHE_BLOCKS = 1024;
    static final Set<String> KEYS = Set.of("model", "host", "port", "data-port", "cluster-name", "members", "hazelcast-port", "device",
            "transport", "micro-batches", "reply-timeout-ms", "placement", "redundant-experts", "rebalance-every-steps", "cache-blocks", "block-tokens", "served-model-name", "max-num-seqs",
            "max-num-batched-tokens", "max-waiting-requests", "http-port", "routing-window-steps",
            "record-routing", ApiKeyOptions.KEY, "tls-cert", "tls-key", "tls-ca", "cluster-secret-file", QuantizeOptions.KEY,
            QuantizeOptions.ATTENTION_KEY);

    @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face model directory on this node, or 'demo' (or 'demo-skewed').")
    String model;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML file with any of the keys: model, host, port, data-port, "
            + "cluster-name, members, hazelcast-port, device, transport, micro-batches, reply-timeout-ms, placement, redundant-experts, rebalance-every-steps, "
            + "cache-blocks, "
            + "block-tokens, served-model-name, "
            + "max-num-seqs, max-num-batched-tokens, max-waiting-requests, http-port, routing-window-steps, record-routing, api-key-file, "
            + "tls-cert, tls-key, tls-ca, cluster-secret-file, quantize, quantize-attention. Flags win over it.")
    Path config;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to listen on and advertise. Default: 127.0.0.1.")
    String host;

    @Option(names = "--port", paramLabel = "P", description = "Flight port of a worker (health and actions), gRPC port of the "
            + "coordinator. Default: 0 (any free port) for workers, 50051 for the coordinator.")
    Integer port;

    @Option(names = "--data-port", paramLabel = "P", description = "Data-plane port of a worker (the step's batches of hidden rows). "
            + "Default: 0 (any free port).")
    Integer dataPort;

    @Option(names = "--cluster-name", paramLabel = "NAME", description = "Hazelcast cluster name. Default: expertmesh.")
    String clusterName;

    @Option(names = "--members", paramLabel = "HOST:PORT", split = ",",
            description = "Hazelcast addresses of nodes to join (the coordinator's at least). Default: none (start a cluster).")
    List<String> members;

    @Option(names = "--hazelcast-port", paramLabel = "P", description = "First Hazelcast port to try. Default: 5701.")
    Integer hazelcastPort;

    @Option(names = "--device", paramLabel = "DEVICE", description = "Where this node computes: cpu, cuda (= cuda:0), cuda:N, or auto "
            + "(cuda:0 when there is a GPU, else cpu). Default: cpu.")
    String device;

    @Option(names = "--transport", paramLabel = "TYPE", description = "Hidden vectors on the wire: bf16 or fp32. Default: bf16.")
    String transport;

    @Option(names = "--micro-batches", paramLabel = "N", description = "Coordinator: micro-batches a step is split into so "
            + "that one's attention overlaps another's experts; 1 turns it off. Default: 2.")
    Integer microBatches;

    @Option(names = "--reply-timeout-ms", paramLabel = "MS", description = "Coordinator: how long a worker may take to answer "
            + "one message before it is declared failed and routed around. Default: 10000.")
    Integer replyTimeoutMs;

    @Option(names = "--placement", paramLabel = "POLICY", description = "Coordinator: how routed experts are placed on the "
            + "expert workers: contiguous (equal ranges), eplb-global or eplb-hierarchical (DeepSeek's EPLB on the tokens routed "
            + "so far), memory-weighted (load and experts in proportion to each worker's memory). Default: contiguous.")
    String placement;

    @Option(names = "--redundant-experts", paramLabel = "R", description = "Coordinator: extra replicas of routed experts per MoE "
            + "layer, on the expert workers hosting the fewest, so that a failed worker's experts are served at once by "
            + "another. Default: 0.")
    Integer redundantExperts;

    @Option(names = "--rebalance-every-steps", paramLabel = "N", description = "Coordinator: place the experts again on the "
            + "tokens routed so far every N steps (applied through the two-phase flip); 0 only when asked (expertmesh balance "
            + "apply). Default: 0.")
    Integer rebalanceEverySteps;

    @Option(names = "--cache-blocks", paramLabel = "N", description = "Attention worker: latent cache blocks. Default: 1024.")
    Integer cacheBlocks;

    @Option(names = "--block-tokens", paramLabel = "N", description = "Attention worker: tokens per cache block. Default: 64.")
    Integer blockTokens;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "Coordinator: the model's name in requests and "
            + "/v1/models. Default: the model directory's name.")
    String servedModelName;

    @Mixin
    QuantizeOptions quantize;

    @Mixin
    SchedulerOptions scheduler;

    @Mixin
    RoutingStatsOptions routing;

    @Mixin
    ApiKeyOptions apiKeys;

    @Mixin
    SecurityOptions security;

    @Option(names = "--http-port", paramLabel = "P", description = "Coordinator: port of the OpenAI-compatible HTTP API and "
            + "/metrics; 0 takes a free one. Default: 8000.")
    Integer httpPort;

    private JsonNode file;

    /** The options of {@code config} (null: none), with {@code host} (null: the file's) over its host. */
    static ClusterOptions of(Path config, String host) {
        ClusterOptions options = new ClusterOptions();
        options.config = config;
        options.host = host;
        options.security = new SecurityOptions();
        options.apiKeys = new ApiKeyOptions();
        options.quantize = new QuantizeOptions();
        return options;
    }

    /** The YAML file's keys, read once; unknown keys are refused so a typo does not pass silently. */
    private JsonNode file() {
        if (file == null) {
            file = new ObjectMapper().createObjectNode();
            if (config != null) {
                try {
                    JsonNode read = new ObjectMapper(new YAMLFactory()).readTree(config.toFile());
                    if (read != null && !read.isObject()) {
                        throw new IllegalArgumentException(config + ": expected a YAML mapping of keys to values");
                    }
                    if (read != null) {
                        file = read;
                    }
                } catch (IOException e) {
                    throw new IllegalArgumentException(config + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""), e);
                }
                file.fieldNames().forEachRemaining(key -> {
                    if (!KEYS.contains(key)) {
                        throw new IllegalArgumentException(config + ": unknown key '" + key + "' (known: " + String.join(", ", KEYS.stream().sorted().toList()) + ")");
                    }
                });
            }
        }
        return file;
    }

    String model() {
        String value = model != null ? model : file().path("model").asText(null);
        if (value == null) {
            throw new IllegalArgumentException("no model: give --model DIR (or 'model:' in --config)");
        }
        return value;
    }

    /** A file named by {@code flag}, else by the config {@code file}'s {@code key}; null when neither names one. */
    static Path path(Path flag, JsonNode file, String key) {
        if (flag != null) {
            return flag;
        }
        String value = file.path(key).asText(null);
        return value == null ? null : Path.of(value);
    }

    private String text(String flag, String key, String fallback) {
        return flag != null ? flag : file().path(key).asText(fallback);
    }

    private int number(Integer flag, String key, int fallback) {
        return flag != null ? flag : file().path(key).asInt(fallback);
    }

    NodeOptions node(int defaultPort) {
        List<String> joinAt = members != null ? members : fileMembers();
        String bind = text(host, "host", "127.0.0.1");
        return new NodeOptions(bind, number(port, "port", defaultPort), number(dataPort, "data-port", 0), new MemberSettings(
                text(clusterName, "cluster-name", "expertmesh"), bind, number(hazelcastPort, "hazelcast-port", MemberSettings.DEFAULT_PORT), joinAt)
                .withSecret(security.secret(file())));
    }

    /** The file's members: a YAML list, or one comma-separated string as on the command line. */
    private List<String> fileMembers() {
        JsonNode node = file().path("members");
        String[] addresses = node.isArray() ? new ObjectMapper().convertValue(node, String[].class)
                : node.isMissingNode() ? new String[0] : node.asText().split(",");
        return Arrays.stream(addresses).map(String::strip).filter(a -> !a.isEmpty()).toList();
    }

    /** The stages of --device (or the file's device:), its GPU opened here for the life of the process. */
    ComputeDevice device() {
        return DeviceStages.open(Device.select(text(device, "device", "cpu")));
    }

    /** How the node stores the weights it loads: --quantize and --quantize-attention, or the file's keys. */
    QuantizationPlan quantization() {
        return quantize.plan(file());
    }

    TransportOptions transport() {
        return transport(text(transport, "transport", "bf16"), number(microBatches, "micro-batches", TransportOptions.DEFAULT.microBatches()),
                number(replyTimeoutMs, "reply-timeout-ms", (int) TransportOptions.DEFAULT.replyTimeout().toMillis())).withTls(tls());
    }

    /** The node's TLS files, checked now so that a wrong one is named before anything starts. */
    Optional<TlsFiles> tls() {
        return security.tls(file());
    }

    static TransportOptions transport(String type, int microBatches, int replyTimeoutMs) {
        if (microBatches < 1) {
            throw new IllegalArgumentException("--micro-batches " + microBatches + ": expected 1 (no overlap) or more");
        }
        if (replyTimeoutMs < 1) {
            throw new IllegalArgumentException("--reply-timeout-ms " + replyTimeoutMs + ": expected a positive number of milliseconds");
        }
        return TransportOptions.DEFAULT.withMicroBatches(microBatches).withReplyTimeout(Duration.ofMillis(replyTimeoutMs)).withHiddenType(switch (type) {
            case "bf16" -> HiddenType.BF16;
            case "fp32" -> HiddenType.FP32;
            default -> throw new IllegalArgumentException("--transport " + type + ": expected bf16 or fp32");
        });
    }

    /** The coordinator's serving options; the tokenizer is the model's own, if it has one. */
    ServingOptions serving() {
        String modelDir = model();
        // Before the tokenizer opens: a bad key file is refused at once.
        Optional<ApiKeys> keys = apiKeys.required(file());
        return new ServingOptions(text(servedModelName, "served-model-name", servedName(modelDir)),
                ModelOptions.openTokenizer(modelDir, null), scheduler.limits(file()), httpPort(), routing.routing(file()), keys);
    }

    int httpPort() {
        return number(httpPort, "http-port", ServingOptions.DEFAULT_HTTP_PORT);
    }

    /** A model's name by default: its directory's. */
    static String servedName(String model) {
        Path name = Path.of(model).toAbsolutePath().normalize().getFileName();
        return name == null ? model : name.toString();
    }

    PlacementOptions placement() {
        return new PlacementOptions(placement(text(placement, "placement", "contiguous"), number(redundantExperts, "redundant-experts", 0)),
                number(rebalanceEverySteps, "rebalance-every-steps", 0));
    }

    static PlacementPolicy placement(String policy, int redundantExperts) {
        if (redundantExperts < 0) {
            throw new IllegalArgumentException("--redundant-experts " + redundantExperts + ": expected 0 (no replicas) or more");
        }
        return PlacementPolicy.named(policy, redundantExperts);
    }

    int cacheBlocks() {
        return number(cacheBlocks, "cache-blocks", DEFAULT_CACHE_BLOCKS);
    }

    int blockTokens() {
        return number(blockTokens, "block-tokens", CacheBlocks.DEFAULT_BLOCK_TOKENS);
    }
}
