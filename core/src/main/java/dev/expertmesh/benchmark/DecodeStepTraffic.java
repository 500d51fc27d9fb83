package dev.expertmesh.benchmark;

import dev.expertmesh.checkpoint.TensorInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Weight bytes one decode step reads, summed over the model's tensors: every tensor once,
 * except that a routed expert is read only if its layer chose it for some token of the step (the
 * expert stage streams each chosen expert once, whatever the number of its tokens) and the
 * embedding only one row per token. A tensor's bytes are those it takes once loaded (quantized
 * experts take fewer than the checkpoint's).
 */
public final class DecodeStepTraffic {
    private static final Pattern ROUTED_EXPERT = Pattern.compile("model\\.layers\\.(\\d+)\\.mlp\\.experts\\.(\\d+)\\..*");
    private static final String EMBEDDING = "model.embed_tokens.weight";

    private long alwaysReadBytes;
    private long embeddingRowBytes;
    private final List<ExpertTensor> expertTensors = new ArrayList<>();

    /** One routed expert's matrix. */
    private record ExpertTensor(int layer, int expert, long bytes) {
    }

    public DecodeStepTraffic(List<TensorInfo> tensors, ToLongFunction<TensorInfo> loadedBytes) {
        for (TensorInfo t : tensors) {
            long bytes = loadedBytes.applyAsLong(t);
            Matcher expert = ROUTED_EXPERT.matcher(t.name());
            if (t.name().equals(EMBEDDING)) {
                embeddingRowBytes = bytes / t.shape()[0];
            } else if (expert.matches()) {
                expertTensors.add(new ExpertTensor(Integer.parseInt(expert.group(1)), Integer.parseInt(expert.group(2)), bytes));
            } else {
                alwaysReadBytes += bytes;
            }
        }
    }

    /** Bytes read by a step over {@code tokens} tokens whose routing {@code routed} observed. */
    public long bytes(RoutedExperts routed, int tokens) {
        long bytes = alwaysReadBytes + tokens * embeddingRowBytes;
        for (ExpertTensor t : expertTensors) {
            if (routed.contains(t.layer(), t.expert())) {
                bytes += t.bytes();
            }
        }
        return bytes;
    }
}
