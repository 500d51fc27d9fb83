package dev.expertmesh.checkpoint;

/** The element types a safetensors checkpoint may hold, by their safetensors names. */
public enum DType {
    BF16(2), F16(2), F32(4), I32(4), I64(8),
    /** FP8 e4m3fn, as DeepSeek-V3 publishes its linear weights (with F32 block scales next to them). */
    F8_E4M3(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** Parses a safetensors dtype name; null when the name is not one ExpertMesh reads. */
    static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
