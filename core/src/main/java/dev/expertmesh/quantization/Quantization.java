package dev.expertmesh.quantization;

import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How expert weights are stored after loading: as the checkpoint has them, or quantized. */
public enum Quantization {
    NONE("none"),
    INT8("int8"),
    INT4_G64("int4-g64"),
    INT4_G128("int4-g128"),
    FP8("fp8");

    private final String label;

    Quantization(String label) {
        this.label = label;
    }

    /** The name users type: {@code none}, {@code int8}, {@code int4-g64}, {@code int4-g128}, {@code fp8}. */
    public String label() {
        return label;
    }

    /** The quantization a user named; anything else is an error that lists the choices. */
    public static Quantization parse(String label) {
        for (Quantization q : values()) {
            if (q.label().equals(label.strip().toLowerCase(Locale.ROOT))) {
                return q;
            }
        }
        throw new IllegalArgumentException("--quantize " + label + ": choose one of " + choices());
    }

    /** Every label, for help texts and errors: "none, int8". */
    public static String choices() {
        return Arrays.stream(values()).map(Quantization::label).collect(Collectors.joining(", "));
    }

    /**
     * {@code w} as this quantization stores it; new bytes go to {@code arena}. A weight already in
     * this format is kept as it is; one in another quantized format is requantized from its
     * dequantized values (Weight.get).
     */
    public Weight apply(Weight w, Arena arena) {
        if (hasFormat(w.format())) {
            return w;
        }
        return switch (this) {
            case NONE -> w;
            case INT8 -> Int8Quantizer.quantize(w, arena);
            case INT4_G64 -> Int4Quantizer.quantize(w, 64, arena);
            case INT4_G128 -> Int4Quantizer.quantize(w, 128, arena);
            case FP8 -> Fp8BlockQuantizer.quantize(w, arena);
        };
    }

    private boolean hasFormat(WeightFormat format) {
        return switch (format) {
            case WeightFormat.Bf16 b -> false;
            case WeightFormat.F32 f -> false;
            case WeightFormat.Int8PerChannel q -> this == INT8;
            case WeightFormat.Int4Grouped q -> this == INT4_G64 && q.groupSize() == 64 || this == INT4_G128 && q.groupSize() == 128;
            case WeightFormat.Fp8Block q -> this == FP8 && q.blockRows() == Weight.FP8_BLOCK
                    && q.blockCols() == Weight.FP8_BLOCK;
        };
    }
}
