/*
 * A stand-in for libcublas (and libcublasLt) whose "device" pointers are host pointers: GEMMs run
 * on the CPU with cuBLAS's column-major semantics, so the Java side's layouts can be checked
 * against the CPU backend without a GPU. Only what ExpertMesh calls: bf16 or fp32 A and B, fp32 C.
 */
#include <stdint.h>
#include <string.h>

enum { R_32F = 0, R_16BF = 14, OP_N = 0 };

static float element(const void *base, int type, long long index) {
    if (type == R_16BF) {
        uint32_t bits = (uint32_t) ((const uint16_t *) base)[index] << 16;
        float value;
        memcpy(&value, &bits, sizeof value);
        return value;
    }
    return ((const float *) base)[index];
}

/* op(X)[row][col] of a column-major X with leading dimension ld. */
static float op(const void *x, int type, int ld, int transpose, int row, int col) {
    return transpose == OP_N ? element(x, type, row + (long long) col * ld) : element(x, type, col + (long long) row * ld);
}

static void gemm(int ta, int tb, int m, int n, int k, float alpha, const void *a, int at, int lda, const void *b, int bt, int ldb,
                 float beta, float *c, int ldc) {
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            float sum = 0;
            for (int p = 0; p < k; p++) {
                sum += op(a, at, lda, ta, i, p) * op(b, bt, ldb, tb, p, j);
            }
            c[i + (long long) j * ldc] = alpha * sum + (beta == 0 ? 0 : beta * c[i + (long long) j * ldc]);
        }
    }
}

static int type_size(int type) { return type == R_16BF ? 2 : 4; }

int cublasCreate_v2(void **handle) { *handle = (void *) 1; return 0; }
int cublasSetStream_v2(void *handle, void *stream) { return 0; }
int cublasDestroy_v2(void *handle) { return 0; }

int cublasGemmEx(void *handle, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int at, int lda,
                 const void *b, int bt, int ldb, const float *beta, void *c, int ct, int ldc, int compute, int algo) {
    if (ct != R_32F) return 15;
    gemm(ta, tb, m, n, k, *alpha, a, at, lda, b, bt, ldb, *beta, (float *) c, ldc);
    return 0;
}

int cublasGemmStridedBatchedEx(void *handle, int ta, int tb, int m, int n, int k, const float *alpha,
                               const void *a, int at, int lda, long long sa, const void *b, int bt, int ldb, long long sb,
                               const float *beta, void *c, int ct, int ldc, long long sc, int batches, int compute, int algo) {
    if (ct != R_32F) return 15;
    for (int i = 0; i < batches; i++) {
        gemm(ta, tb, m, n, k, *alpha, (const char *) a + i * sa * type_size(at), at, lda,
             (const char *) b + i * sb * type_size(bt), bt, ldb, *beta, (float *) c + i * sc, ldc);
    }
    return 0;
}
