package dev.expertmesh.quantization;

import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How expert weights are stored after loading: as the checkpoint has them, or quantized. */
public enum Quantization {
    NONE,
    INT8;

    /** The name users type: {@code none}, {@code int8}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
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

    /** {@code w} as this quantization stores it; new bytes go to {@code arena}. */
    public Weight apply(Weight w, Arena arena) {
        return switch (this) {
            case NONE -> w;
            case INT8 -> Int8Quantizer.quantize(w, arena);
        };
    }
}
