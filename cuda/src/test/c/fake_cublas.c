/*
 * A stand-in for libcublas (and libcublasLt) whose "device" pointers are host pointers: GEMMs run
 * on the CPU with cuBLAS's column-major semantics, so the Java side's layouts can be checked
 * against the CPU backend without a GPU. Only what ExpertMesh calls: bf16 or fp32 A and B, fp32 C.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
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

/* A GEMM call's arguments, kept by a graph that captures it. */
typedef struct {
    int ta, tb, m, n, k, at, lda, bt, ldb, ldc, batches;
    float alpha, beta;
    const void *a, *b;
    float *c;
    long long sa, sb, sc;
} gemm_call;

static void run_gemms(void *blob) {
    gemm_call *g = blob;
    for (int i = 0; i < g->batches; i++) {
        gemm(g->ta, g->tb, g->m, g->n, g->k, g->alpha, (const char *) g->a + i * g->sa * type_size(g->at), g->at, g->lda,
             (const char *) g->b + i * g->sb * type_size(g->bt), g->bt, g->ldb, g->beta, g->c + i * g->sc, g->ldc);
    }
}

/*
 * Runs the call now, or, while emulated_cuda.c captures the stream, hands it over as a graph node (the
 * emulated driver is the one the process loaded: dlopen finds the same file again). A real libcuda
 * has no emulated_record, and a real cuBLAS is never this file.
 */
static void run_or_record(gemm_call call) {
    static int (*record)(void (*)(void *), void *);
    static int looked;
    if (!looked) {
        void *cuda = dlopen("libcuda.so.1", RTLD_NOW);
        record = cuda ? (int (*)(void (*)(void *), void *)) dlsym(cuda, "emulated_record") : NULL;
        looked = 1;
    }
    gemm_call *kept = malloc(sizeof call);
    *kept = call;
    if (record && record(run_gemms, kept)) return;
    run_gemms(kept);
    free(kept);
}

int cublasCreate_v2(void **handle) { *handle = (void *) 1; return 0; }
int cublasSetStream_v2(void *handle, void *stream) { return 0; }
int cublasDestroy_v2(void *handle) { return 0; }

int cublasGemmEx(void *handle, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int at, int lda,
                 const void *b, int bt, int ldb, const float *beta, void *c, int ct, int ldc, int compute, int algo) {
    if (ct != R_32F) return 15;
    run_or_record((gemm_call) {ta, tb, m, n, k, at, lda, bt, ldb, ldc, 1, *alpha, *beta, a, b, (float *) c, 0, 0, 0});
    return 0;
}

int cublasGemmStridedBatchedEx(void *handle, int ta, int tb, int m, int n, int k, const float *alpha,
                               const void *a, int at, int lda, long long sa, const void *b, int bt, int ldb, long long sb,
                               const float *beta, void *c, int ct, int ldc, long long sc, int batches, int compute, int algo) {
    if (ct != R_32F) return 15;
    run_or_record((gemm_call) {ta, tb, m, n, k, at, lda, bt, ldb, ldc, batches, *alpha, *beta, a, b, (float *) c, sa, sb, sc});
    return 0;
}
