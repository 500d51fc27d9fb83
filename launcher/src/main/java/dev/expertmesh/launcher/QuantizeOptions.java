package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Iterator;

/**
 * How the weights a command or role loads are stored, as flags (for the cluster roles also as keys of
 * their config file): the same two on every command that loads weights.
 */
final class QuantizeOptions {
    static final String KEY = "quantize";
    static final String ATTENTION_KEY = "quantize-attention";

    @Option(names = "--quantize", paramLabel = "FORMAT", completionCandidates = Formats.class,
            description = "How routed and shared experts are stored once loaded: ${COMPLETION-CANDIDATES}. none keeps them as "
                    + "the checkpoint has them; int8 has one scale per output row (half BF16's bytes), fp8 is e4m3 with one scale "
                    + "per 128x128 block (DeepSeek-V3's), int4-gN one scale per N columns of a row (about a quarter). An expert "
                    + "worker quantizes only the experts it hosts (and those later placements add); the coordinator's "
                    + "embeddings, routers and lm_head never are. Default: none.")
    String quantize;

    @Option(names = "--quantize-attention", arity = "0..1", paramLabel = "true|false", description = "Store the attention projections and the dense layers' MLPs as "
            + "--quantize says too (attention workers, and the dense MLPs on expert workers). Default: as the checkpoint has them.")
    Boolean quantizeAttention;

    /** The labels users type, from the enum, for the help text. */
    static final class Formats implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(Quantization.values()).map(Quantization::label).iterator();
        }
    }

    /** Flags first, then the config file's keys of the same names, then the defaults (nothing quantized). */
    QuantizationPlan plan(JsonNode file) {
        Quantization experts = Quantization.parse(quantize != null ? quantize : file.path(KEY).asText(Quantization.NONE.label()));
        boolean withAttention = quantizeAttention != null ? quantizeAttention : file.path(ATTENTION_KEY).asBoolean(false);
        return QuantizationPlan.of(experts, withAttention);
    }
}
