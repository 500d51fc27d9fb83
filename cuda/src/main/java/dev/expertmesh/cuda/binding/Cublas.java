package dev.expertmesh.cuda.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS through FFM: GEMMs with bf16 or fp32 operands accumulated in fp32 (CUBLAS_COMPUTE_32F).
 * cuBLAS is column-major; callers pass row-major matrices as their transposes.
 */
public final class Cublas {
    static final List<String> CANDIDATES = List.of("libcublas.so", "libcublas.so.13", "libcublas.so.12",
            "/usr/local/cuda/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so");
    static final List<String> LT_CANDIDATES = List.of("libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12",
            "/usr/local/cuda/lib64/libcublasLt.so.13", "/usr/local/cuda/lib64/libcublasLt.so.12");
    public static final int R_32F = 0;
    public static final int R_16BF = 14;
    public static final int NO_TRANSPOSE = 0;
    public static final int TRANSPOSE = 1;
    private static final int COMPUTE_32F = 68;
    private static final int GEMM_DEFAULT = -1;
    /** cublasStatus_t names, for libraries without cublasGetStatusName. */
    private static final Map<Integer, String> STATUS_NAMES = Map.of(1, "NOT_INITIALIZED", 3, "ALLOC_FAILED", 7, "INVALID_VALUE",
            8, "ARCH_MISMATCH", 11, "MAPPING_ERROR", 13, "EXECUTION_FAILED", 14, "INTERNAL_ERROR", 15, "NOT_SUPPORTED",
            16, "LICENSE_ERROR");

    /** A GEMM operand: device pointer, cudaDataType, leading dimension, and elements between batches. */
    public record Operand(long pointer, int dataType, int leadingDimension, long batchStride) {
        public static Operand of(long pointer, int dataType, int leadingDimension) {
            return new Operand(pointer, dataType, leadingDimension, 0);
        }
    }

    private final NativeLibrary lib;
    private final MemorySegment handle;
    private final Arena scalars = Arena.ofShared();
    private final MemorySegment one = scalars.allocateFrom(JAVA_FLOAT, 1f);
    private final MemorySegment zero = scalars.allocateFrom(JAVA_FLOAT, 0f);

    private Cublas(NativeLibrary lib, MemorySegment handle) {
        this.lib = lib;
        this.handle = handle;
    }

    /** A cuBLAS handle on the current context, its work issued to {@code stream}. */
    public static Cublas create(MemorySegment stream) {
        return create(stream, LT_CANDIDATES, CANDIDATES);
    }

    static Cublas create(MemorySegment stream, List<String> ltCandidates, List<String> candidates) {
        String fix = "install the CUDA toolkit's cuBLAS (or put its lib64 on LD_LIBRARY_PATH)";
        // cuBLAS loads cuBLASLt by name: opening it first names the missing one rather than failing inside cuBLAS.
        NativeLibrary.open("cuBLASLt (libcublasLt.so)", fix, ltCandidates);
        NativeLibrary lib = NativeLibrary.open("cuBLAS (libcublas.so)", fix, candidates);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(lib, "cublasCreate", lib.status("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS), out));
            Cublas cublas = new Cublas(lib, out.get(ADDRESS, 0));
            check(lib, "cublasSetStream", lib.status("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
                    cublas.handle, stream));
            return cublas;
        }
    }

    /** C = op(A)·op(B), C [m, n], column-major. */
    public void gemm(int transA, int transB, int m, int n, int k, Operand a, Operand b, Operand c) {
        check(lib, "cublasGemmEx", lib.status("cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                        JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                handle, transA, transB, m, n, k, one, a.pointer(), a.dataType(), a.leadingDimension(),
                b.pointer(), b.dataType(), b.leadingDimension(), zero, c.pointer(), c.dataType(), c.leadingDimension(),
                COMPUTE_32F, GEMM_DEFAULT));
    }

    /** {@code batches} GEMMs C_i = op(A_i)·op(B_i), the i-th operands batchStride elements after the (i-1)-th. */
    public void gemmStridedBatched(int transA, int transB, int m, int n, int k, Operand a, Operand b, Operand c, int batches) {
        check(lib, "cublasGemmStridedBatchedEx", lib.status("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                        JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT),
                handle, transA, transB, m, n, k, one,
                a.pointer(), a.dataType(), a.leadingDimension(), a.batchStride(),
                b.pointer(), b.dataType(), b.leadingDimension(), b.batchStride(), zero,
                c.pointer(), c.dataType(), c.leadingDimension(), c.batchStride(), batches, COMPUTE_32F, GEMM_DEFAULT));
    }

    public void destroy() {
        check(lib, "cublasDestroy", lib.status("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS), handle));
        scalars.close();
    }

    private static void check(NativeLibrary lib, String call, int status) {
        if (status != 0) {
            throw CudaException.failed(call, status, statusName(lib, status), null);
        }
    }

    /** cuBLAS's name for a status (CUBLAS_STATUS_...), from the library when it can say. */
    static String statusName(NativeLibrary lib, int status) {
        if (lib != null && lib.has("cublasGetStatusName")) {
            String name = NativeLibrary.string((MemorySegment) lib.call("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT), status));
            if (name != null) {
                return name;
            }
        }
        return "CUBLAS_STATUS_" + STATUS_NAMES.getOrDefault(status, "UNKNOWN_" + status);
    }
}
