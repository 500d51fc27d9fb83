package dev.expertmesh.quantization;

import java.util.Objects;

/**
 * How a model's weights are stored after loading: routed and shared experts as {@code experts};
 * attention projections and dense-layer MLPs as {@code attentionAndDense}. Embeddings, lm_head,
 * router gates and norms are never quantized: the router must choose the experts the checkpoint
 * would, and those tensors are a small part of the bytes a step streams.
 */
public record QuantizationPlan(Quantization experts, Quantization attentionAndDense) {
    /** Every weight as the checkpoint has it. */
    public static final QuantizationPlan NONE = new QuantizationPlan(Quantization.NONE, Quantization.NONE);

    public QuantizationPlan {
        Objects.requireNonNull(experts, "experts");
        Objects.requireNonNull(attentionAndDense, "attentionAndDense");
    }

    /**
     * What {@code --quantize} and {@code --quantize-attention} ask for: the experts as {@code quantize}
     * says, attention and dense MLPs too only when {@code withAttention}.
     */
    public static QuantizationPlan of(Quantization quantize, boolean withAttention) {
        if (withAttention && quantize == Quantization.NONE) {
            throw new IllegalArgumentException("--quantize-attention quantizes attention and dense MLPs as --quantize does: "
                    + "give --quantize too (" + Quantization.choices() + "), or drop --quantize-attention");
        }
        return new QuantizationPlan(quantize, withAttention ? quantize : Quantization.NONE);
    }

    /** For logs and status: "experts int8, attention and dense none". */
    public String label() {
        return "experts " + experts.label() + ", attention and dense " + attentionAndDense.label();
    }
}
