package dev.expertmesh.benchmark;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.moe.ExpertRoutes;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DecodeStepTrafficTest {
    private final DecodeStepTraffic traffic = new DecodeStepTraffic(List.of(
            bf16("model.embed_tokens.weight", 10, 4),
            bf16("model.layers.0.self_attn.o_proj.weight", 4, 4),
            bf16("model.layers.0.mlp.experts.0.up_proj.weight", 2, 4),
            bf16("model.layers.0.mlp.experts.1.up_proj.weight", 2, 4),
            bf16("model.layers.0.mlp.experts.2.up_proj.weight", 2, 4),
            bf16("lm_head.weight", 10, 4)), TensorInfo::byteSize);

    private static TensorInfo bf16(String name, long rows, long cols) {
        return new TensorInfo(name, null, DType.BF16, new long[]{rows, cols}, 0, rows * cols * 2);
    }

    @Test
    void countsEachChosenExpertOnceAndOneEmbeddingRowPerToken() {
        RoutedExperts routed = new RoutedExperts(1);
        routed.routed(0, new ExpertRoutes(2, 2, new int[]{2, 0, 2, 0}, new float[4]));

        long embeddingRows = 2 * 4 * 2;
        long attention = 4 * 4 * 2;
        long twoExperts = 2 * (2 * 4 * 2);
        long lmHead = 10 * 4 * 2;
        assertEquals(embeddingRows + attention + twoExperts + lmHead, traffic.bytes(routed, 2));
    }
}
