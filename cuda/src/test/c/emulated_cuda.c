/*
 * A stand-in libcuda.so.1 that runs on the host: device memory is heap memory, and each kernel of
 * the ABI is a plain C loop with the numerics the ABI states (bf16 storage, fp32 arithmetic). With
 * emulated_nvrtc.c and fake_cublas.c it lets the whole CUDA engine run without a GPU, so the Java
 * orchestration (buffers, offsets, block tables, launch arguments) is checked against the CPU
 * engine; the real kernels are checked on a GPU only.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint16_t bf16;
typedef void (*kernel)(void **p, int grid_x, int grid_y);
#define ARG(i, T) (*(T *) p[i])

static float b2f(bf16 b) {
    uint32_t u = (uint32_t) b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static bf16 f2b(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (bf16) ((u >> 16) | 0x40);
    }
    return (bf16) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float inverse_rms(const float *row, int cols, float eps) {
    float sum = 0;
    for (int c = 0; c < cols; c++) sum += row[c] * row[c];
    return (float) (1.0 / sqrt(sum / cols + eps));
}

static void rms_norm(void **p, int rows, int unused) {
    const float *x = ARG(0, const float *); int xs = ARG(1, int); const bf16 *g = ARG(2, const bf16 *);
    bf16 *out = ARG(3, bf16 *); int os = ARG(4, int); int cols = ARG(5, int); float eps = ARG(6, float);
    for (int r = 0; r < rows; r++) {
        float s = inverse_rms(x + (long) r * xs, cols, eps);
        for (int c = 0; c < cols; c++) out[(long) r * os + c] = f2b(b2f(g[c]) * (x[(long) r * xs + c] * s));
    }
}

static void rms_norm_f32(void **p, int rows, int unused) {
    const float *x = ARG(0, const float *); int xs = ARG(1, int); const bf16 *g = ARG(2, const bf16 *);
    float *out = ARG(3, float *); int os = ARG(4, int); int cols = ARG(5, int); float eps = ARG(6, float);
    for (int r = 0; r < rows; r++) {
        float s = inverse_rms(x + (long) r * xs, cols, eps);
        for (int c = 0; c < cols; c++) out[(long) r * os + c] = b2f(g[c]) * (x[(long) r * xs + c] * s);
    }
}

static void yarn_rope(void **p, int gx, int gy) {
    float *x = ARG(0, float *); int rs = ARG(1, int); int hs = ARG(2, int); int heads = ARG(3, int); int off = ARG(4, int);
    const int *pos = ARG(5, const int *); const float *inv = ARG(6, const float *); int pairs = ARG(7, int);
    float m = ARG(8, float); int rows = ARG(9, int);
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < heads; h++) {
            float *v = x + (long) r * rs + (long) h * hs + off;
            for (int i = 0; i < pairs; i++) {
                float angle = inv[i] * pos[r];
                float c = (float) cos(angle) * m, s = (float) sin(angle) * m;
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * c - b * s;
                v[2 * i + 1] = a * s + b * c;
            }
        }
}

static void silu_mul(void **p, int gx, int gy) {
    const float *gu = ARG(0, const float *); bf16 *out = ARG(1, bf16 *); int rows = ARG(2, int); int inter = ARG(3, int);
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < inter; i++) {
            float g = gu[(long) r * 2 * inter + i], u = gu[(long) r * 2 * inter + inter + i];
            out[(long) r * inter + i] = f2b(g / (1.f + expf(-g)) * u);
        }
}

static void moe_gather(void **p, int gx, int gy) {
    const bf16 *x = ARG(0, const bf16 *); const int *src = ARG(1, const int *); bf16 *out = ARG(2, bf16 *);
    int rows = ARG(3, int); int hidden = ARG(4, int);
    for (int i = 0; i < rows; i++) memcpy(out + (long) i * hidden, x + (long) src[i] * hidden, hidden * sizeof(bf16));
}

static void moe_combine(void **p, int gx, int gy) {
    const float *eo = ARG(0, const float *); const int *slots = ARG(1, const int *); const float *w = ARG(2, const float *);
    float *out = ARG(3, float *); int rows = ARG(4, int); int k = ARG(5, int); int hidden = ARG(6, int);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < k; j++) {
            int s = slots[r * k + j];
            if (s < 0) continue;
            for (int c = 0; c < hidden; c++) out[(long) r * hidden + c] += w[r * k + j] * eo[(long) s * hidden + c];
        }
}

static void cache_write(void **p, int gx, int gy) {
    const float *lat = ARG(0, const float *); int ls = ARG(1, int); const int *slots = ARG(2, const int *);
    bf16 *cache = ARG(3, bf16 *); int rows = ARG(4, int); int width = ARG(5, int);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < width; c++) cache[(long) slots[r] * width + c] = f2b(lat[(long) r * ls + c]);
}

static void softmax(float *x, int n) {
    float max = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    for (int i = 0; i < n; i++) sum += x[i] = expf(x[i] - max);
    for (int i = 0; i < n; i++) x[i] /= sum;
}

static void mla_decode(void **p, int gx, int rows) {
    const float *ql = ARG(0, const float *); const float *qpe = ARG(1, const float *); const bf16 *cache = ARG(2, const bf16 *);
    const int *table = ARG(3, const int *); const int *lens = ARG(4, const int *); float *out = ARG(5, float *);
    int heads = ARG(6, int); int rank = ARG(7, int); int rope = ARG(8, int); int bt = ARG(9, int); int maxb = ARG(10, int);
    float scale = ARG(11, float);
    int width = rank + rope;
    for (int r = 0; r < rows; r++)
        for (int h = 0; h < heads; h++) {
            int n = lens[r];
            float *score = malloc(sizeof(float) * n);
            const float *q = ql + ((long) r * heads + h) * rank, *qr = qpe + ((long) r * heads + h) * rope;
            for (int t = 0; t < n; t++) {
                const bf16 *row = cache + ((long) table[r * maxb + t / bt] * bt + t % bt) * width;
                float s = 0;
                for (int i = 0; i < rank; i++) s += q[i] * b2f(row[i]);
                for (int i = 0; i < rope; i++) s += qr[i] * b2f(row[rank + i]);
                score[t] = s * scale;
            }
            softmax(score, n);
            float *o = out + ((long) r * heads + h) * rank;
            for (int i = 0; i < rank; i++) o[i] = 0;
            for (int t = 0; t < n; t++) {
                const bf16 *row = cache + ((long) table[r * maxb + t / bt] * bt + t % bt) * width;
                for (int i = 0; i < rank; i++) o[i] += score[t] * b2f(row[i]);
            }
            free(score);
        }
}

static void mla_prefill(void **p, int gx, int gy) {
    const float *q = ARG(0, const float *); const float *k = ARG(1, const float *); const float *v = ARG(2, const float *);
    float *out = ARG(3, float *); int rows = ARG(4, int); int context = ARG(5, int); int first = ARG(6, int);
    int heads = ARG(7, int); int qk = ARG(8, int); int vd = ARG(9, int); float scale = ARG(10, float);
    float *score = malloc(sizeof(float) * context);
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < rows; i++) {
            int visible = first + i + 1;
            for (int t = 0; t < visible; t++) {
                float s = 0;
                for (int d = 0; d < qk; d++) s += q[((long) i * heads + h) * qk + d] * k[((long) t * heads + h) * qk + d];
                score[t] = s * scale;
            }
            softmax(score, visible);
            float *o = out + ((long) i * heads + h) * vd;
            for (int d = 0; d < vd; d++) o[d] = 0;
            for (int t = 0; t < visible; t++)
                for (int d = 0; d < vd; d++) o[d] += score[t] * v[((long) t * heads + h) * vd + d];
        }
    free(score);
}

static void add_f32(void **p, int gx, int gy) {
    float *y = ARG(0, float *); const float *x = ARG(1, const float *); long long n = ARG(2, long long);
    for (long long i = 0; i < n; i++) y[i] += x[i];
}

static void f32_to_bf16(void **p, int gx, int gy) {
    const float *x = ARG(0, const float *); bf16 *y = ARG(1, bf16 *); long long n = ARG(2, long long);
    for (long long i = 0; i < n; i++) y[i] = f2b(x[i]);
}

static void bf16_to_f32(void **p, int gx, int gy) {
    const bf16 *x = ARG(0, const bf16 *); float *y = ARG(1, float *); long long n = ARG(2, long long);
    for (long long i = 0; i < n; i++) y[i] = b2f(x[i]);
}

/*
 * quantized_linear.cu's kernels from core's WeightFormat definitions: out[r][o] = sum_c x[r][c]·W[o][c]
 * with W[o][c] dequantized as each format defines it (see WeightFormat's javadoc).
 */
typedef float (*element_of)(void **p, int o, int c, int cols);

static void linear(void **p, int first_x, element_of w) {
    const bf16 *x = ARG(first_x, const bf16 *); int xs = ARG(first_x + 1, int); float *out = ARG(first_x + 2, float *);
    int os = ARG(first_x + 3, int); int rows = ARG(first_x + 4, int); int outs = ARG(first_x + 5, int); int cols = ARG(first_x + 6, int);
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < outs; o++) {
            float sum = 0;
            for (int c = 0; c < cols; c++) sum += w(p, o, c, cols) * b2f(x[(long) r * xs + c]);
            out[(long) r * os + o] = sum;
        }
}

/* Symmetric INT8, one scale per output row. */
static float int8_at(const int8_t *q, const float *scales, int o, int c, int cols) {
    return scales[o] * q[(long) o * cols + c];
}

static float int8_element(void **p, int o, int c, int cols) {
    return int8_at(ARG(0, const int8_t *), ARG(1, const float *), o, c, cols);
}

/* INT4 stored as q + 8, low nibble = even column, rows of ceil(cols / 2) bytes, a scale per group of a row. */
static float int4_at(const uint8_t *bytes, const float *scales, int group, int o, int c, int cols) {
    uint8_t byte = bytes[(long) o * ((cols + 1) / 2) + c / 2];
    int q = (c % 2 == 0 ? byte & 0xF : byte >> 4) - 8;
    return scales[(long) o * ((cols + group - 1) / group) + c / group] * q;
}

static float int4_element(void **p, int o, int c, int cols) {
    return int4_at(ARG(0, const uint8_t *), ARG(1, const float *), ARG(2, int), o, c, cols);
}

/* e4m3fn: (-1)^s·2^(e-7)·(1 + m/8), subnormal 2^-6·m/8 when e = 0, NaN for e = 15 and m = 7. */
static float e4m3(uint8_t bits) {
    int e = (bits >> 3) & 0xF, m = bits & 7;
    float v = e == 15 && m == 7 ? NAN : e == 0 ? ldexpf(m / 8.f, -6) : ldexpf(1 + m / 8.f, e - 7);
    return bits & 0x80 ? -v : v;
}

/* FP8 with a scale per br x bc block, row o in block row (o + offset) / br. */
static float fp8_at(const uint8_t *q, const float *scales, int br, int bc, int offset, int o, int c, int cols) {
    return scales[(long) ((o + offset) / br) * ((cols + bc - 1) / bc) + c / bc] * e4m3(q[(long) o * cols + c]);
}

static float fp8_element(void **p, int o, int c, int cols) {
    return fp8_at(ARG(0, const uint8_t *), ARG(1, const float *), ARG(2, int), ARG(3, int), ARG(4, int), o, c, cols);
}

static void linear_int8(void **p, int gx, int gy) { linear(p, 2, int8_element); }
static void linear_int4(void **p, int gx, int gy) { linear(p, 3, int4_element); }
static void linear_fp8(void **p, int gx, int gy) { linear(p, 5, fp8_element); }

/* moe.cu's moe_align: each expert's routes together, experts in id order, a token's routes in row order. */
static void moe_align(void **p, int gx, int gy) {
    const int *ids = ARG(0, const int *); int routes = ARG(1, int); int experts = ARG(2, int);
    int *offsets = ARG(3, int *); int *sorted = ARG(4, int *); int *slots = ARG(5, int *);
    offsets[0] = 0;
    for (int e = 0; e < experts; e++) {
        int n = 0;
        for (int i = 0; i < routes; i++) n += ids[i] == e;
        offsets[e + 1] = offsets[e] + n;
    }
    for (int i = 0; i < routes; i++) slots[i] = -1;
    for (int e = 0; e < experts; e++)
        for (int i = 0, at = offsets[e]; i < routes; i++)
            if (ids[i] == e) {
                sorted[at] = i;
                slots[i] = at++;
            }
}

/*
 * The grouped products (moe.cu's moe_linear_bf16, quantized_linear.cu's moe_linear_*): out[p][o] =
 * sum_c x[row(p)][c]·W_e[o][c] for each position p of expert e's routes, W_e expert e's matrix read by
 * w, row(p) the route's token when gather_k > 0, else p. The arguments from first on are the same for
 * every format: offsets, sorted, x, x_stride, gather_k, out, out_stride, out_features, in_features, experts.
 */
typedef float (*expert_element_of)(void **p, int e, int o, int c, int cols);

static void moe_linear(void **p, int first, expert_element_of w) {
    const int *offsets = ARG(first, const int *); const int *sorted = ARG(first + 1, const int *);
    const bf16 *x = ARG(first + 2, const bf16 *); int xs = ARG(first + 3, int); int gather_k = ARG(first + 4, int);
    float *out = ARG(first + 5, float *); int os = ARG(first + 6, int); int outs = ARG(first + 7, int);
    int cols = ARG(first + 8, int); int experts = ARG(first + 9, int);
    for (int e = 0; e < experts; e++)
        for (int at = offsets[e]; at < offsets[e + 1]; at++) {
            const bf16 *row = x + (long) (gather_k > 0 ? sorted[at] / gather_k : at) * xs;
            for (int o = 0; o < outs; o++) {
                float sum = 0;
                for (int c = 0; c < cols; c++) sum += w(p, e, o, c, cols) * b2f(row[c]);
                out[(long) at * os + o] = sum;
            }
        }
}

static float bf16_expert(void **p, int e, int o, int c, int cols) {
    return b2f(ARG(0, const bf16 *const *)[e][(long) o * cols + c]);
}

static float int8_expert(void **p, int e, int o, int c, int cols) {
    return int8_at(ARG(0, const int8_t *const *)[e], ARG(1, const float *const *)[e], o, c, cols);
}

static float int4_expert(void **p, int e, int o, int c, int cols) {
    return int4_at(ARG(0, const uint8_t *const *)[e], ARG(1, const float *const *)[e], ARG(2, int), o, c, cols);
}

static float fp8_expert(void **p, int e, int o, int c, int cols) {
    return fp8_at(ARG(0, const uint8_t *const *)[e], ARG(1, const float *const *)[e], ARG(2, int), ARG(3, int), ARG(4, int),
                  o, c, cols);
}

static void moe_linear_bf16(void **p, int gx, int gy) { moe_linear(p, 1, bf16_expert); }
static void moe_linear_int8(void **p, int gx, int gy) { moe_linear(p, 2, int8_expert); }
static void moe_linear_int4(void **p, int gx, int gy) { moe_linear(p, 3, int4_expert); }
static void moe_linear_fp8(void **p, int gx, int gy) { moe_linear(p, 5, fp8_expert); }

/* embedding.cu's embed: the token's bf16 row widened. */
static void embed(void **p, int gx, int gy) {
    const int *tokens = ARG(0, const int *); const bf16 *table = ARG(1, const bf16 *); float *out = ARG(2, float *);
    int rows = ARG(3, int); int hidden = ARG(4, int);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < hidden; c++) out[(long) r * hidden + c] = b2f(table[(long) tokens[r] * hidden + c]);
}

/* CpuBackend.topK: insertion into a sorted buffer of k, ties to the lower index. */
static void topk(const float *x, int n, int k, int *out) {
    int filled = 0;
    for (int i = 0; i < n; i++) {
        float v = x[i];
        if (filled == k && !(v > x[out[k - 1]])) continue;
        int j = filled == k ? k - 1 : filled++;
        while (j > 0 && v > x[out[j - 1]]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
}

/* router.cu's route_topk, written from Router.route and Routing's three methods. */
static void route_topk(void **p, int gx, int gy) {
    const float *logits = ARG(0, const float *); const float *bias = ARG(1, const float *); int *ids = ARG(2, int *);
    float *weights = ARG(3, float *); int rows = ARG(4, int); int experts = ARG(5, int); int k = ARG(6, int);
    int method = ARG(7, int); int groups = ARG(8, int); int topk_groups = ARG(9, int); int scoring = ARG(10, int);
    int normalize = ARG(11, int); float scaling = ARG(12, float);
    float scores[256], choice[256], group_scores[256];
    int chosen[256], kept[256];
    for (int r = 0; r < rows; r++) {
        const float *x = logits + (long) r * experts;
        if (scoring == 0) {
            float max = -INFINITY, sum = 0;
            for (int e = 0; e < experts; e++) max = x[e] > max ? x[e] : max;
            for (int e = 0; e < experts; e++) sum += scores[e] = (float) exp((double) (x[e] - max));
            float inverse = 1.f / sum;
            for (int e = 0; e < experts; e++) scores[e] *= inverse;
        } else {
            for (int e = 0; e < experts; e++) scores[e] = (float) (1.0 / (1.0 + exp(-(double) x[e])));
        }
        for (int e = 0; e < experts; e++) choice[e] = method == 2 ? scores[e] + bias[e] : scores[e];
        if (method != 0) {
            int size = experts / groups;
            for (int g = 0; g < groups; g++) {
                if (method == 1) {
                    float best = -INFINITY;
                    for (int e = g * size; e < (g + 1) * size; e++) best = choice[e] > best ? choice[e] : best;
                    group_scores[g] = best;
                } else {
                    int two[2];
                    topk(choice + g * size, size, 2, two);
                    group_scores[g] = choice[g * size + two[0]] + choice[g * size + two[1]];
                }
            }
            topk(group_scores, groups, topk_groups, kept);
            for (int e = 0; e < experts; e++) {
                int in = 0;
                for (int j = 0; j < topk_groups; j++) in |= kept[j] == e / size;
                if (!in) choice[e] = 0.f;
            }
        }
        topk(choice, experts, k, chosen);
        float sum = 0;
        for (int j = 0; j < k; j++) sum += scores[chosen[j]];
        float scale = normalize ? scaling / (sum + 1e-20f) : scaling;
        for (int j = 0; j < k; j++) {
            ids[(long) r * k + j] = chosen[j];
            weights[(long) r * k + j] = scores[chosen[j]] * scale;
        }
    }
}

/* sampling.cu's argmax: the highest logit, ties to the lower id. */
static void argmax(void **p, int gx, int gy) {
    const float *logits = ARG(0, const float *); int *out = ARG(1, int *); int rows = ARG(2, int); int vocab = ARG(3, int);
    for (int r = 0; r < rows; r++) topk(logits + (long) r * vocab, vocab, 1, out + r);
}

/*
 * Each kernel's parameters as the ABI lists them, for a graph to copy at capture: p 8 bytes (a pointer
 * or a long long), i an int, f a float.
 */
static const struct { const char *name; kernel run; const char *parameters; } KERNELS[] = {
    {"rms_norm", rms_norm, "pippiif"}, {"rms_norm_f32", rms_norm_f32, "pippiif"}, {"yarn_rope", yarn_rope, "piiiippifi"},
    {"silu_mul", silu_mul, "ppii"}, {"moe_gather", moe_gather, "pppii"}, {"moe_combine", moe_combine, "ppppiii"},
    {"cache_write", cache_write, "pippii"}, {"mla_decode", mla_decode, "ppppppiiiiif"}, {"mla_prefill", mla_prefill, "ppppiiiiiif"},
    {"add_f32", add_f32, "ppp"}, {"f32_to_bf16", f32_to_bf16, "ppp"}, {"bf16_to_f32", bf16_to_f32, "ppp"},
    {"linear_int8", linear_int8, "pppipiiii"}, {"linear_int4", linear_int4, "ppipipiiii"},
    {"linear_fp8", linear_fp8, "ppiiipipiiii"}, {"moe_align", moe_align, "piippp"},
    {"moe_linear_bf16", moe_linear_bf16, "ppppiipiiii"}, {"moe_linear_int8", moe_linear_int8, "pppppiipiiii"},
    {"moe_linear_int4", moe_linear_int4, "ppipppiipiiii"}, {"moe_linear_fp8", moe_linear_fp8, "ppiiipppiipiiii"},
    {"embed", embed, "pppii"},
    {"route_topk", route_topk, "ppppiiiiiiiif"}, {"argmax", argmax, "ppii"},
};

/*
 * Stream capture: while a capture is on, launches, device copies and fills (and fake_cublas.c's GEMMs,
 * through emulated_record) become nodes of a graph instead of running; launching the graph runs them
 * in order. What a real capture refuses (a copy from or to the host, a synchronize, a free) fails.
 */
typedef void (*node_run)(void *blob);
typedef struct { node_run run; void *blob; } node;
typedef struct { node *nodes; int count, capacity, refs; } graph;
static graph *capturing;
static long long graph_launches;
long long emulated_graph_launches(void) { return graph_launches; }

/* Adds a node to the graph being captured and returns 1, or returns 0 when no capture is on. */
int emulated_record(node_run run, void *blob) {
    if (!capturing) return 0;
    if (capturing->count == capturing->capacity) {
        capturing->capacity = capturing->capacity ? 2 * capturing->capacity : 64;
        capturing->nodes = realloc(capturing->nodes, sizeof(node) * capturing->capacity);
    }
    capturing->nodes[capturing->count++] = (node) {run, blob};
    return 1;
}

typedef struct { kernel f; int gx, gy; void *params[32]; unsigned char values[32][8]; } launch_blob;
static void run_launch(void *b) { launch_blob *l = b; l->f(l->params, l->gx, l->gy); }

static const char *parameters_of(void *f) {
    for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
        if ((void *) KERNELS[i].run == f) return KERNELS[i].parameters;
    }
    return NULL;
}

typedef struct { unsigned long long dst, src; size_t n; } copy_blob;
static void run_copy(void *b) { copy_blob *c = b; memmove((void *) (size_t) c->dst, (void *) (size_t) c->src, c->n); }
typedef struct { unsigned long long dst; unsigned char value; size_t n; } fill_blob;
static void run_fill(void *b) { fill_blob *f = b; memset((void *) (size_t) f->dst, f->value, f->n); }
typedef struct { size_t c[16]; } copy2d_blob;
static void copy_rows(const size_t *c) {
    const char *src = (const char *) c[4];
    char *dst = (char *) c[11];
    for (size_t row = 0; row < c[15]; row++) memcpy(dst + row * c[13], src + row * c[6], c[14]);
}
static void run_copy2d(void *b) { copy_rows(((copy2d_blob *) b)->c); }

static void *copy_of(const void *value, size_t bytes) {
    void *blob = malloc(bytes);
    memcpy(blob, value, bytes);
    return blob;
}

static void free_graph(graph *g) {
    if (--g->refs > 0) return;
    for (int i = 0; i < g->count; i++) free(g->nodes[i].blob);
    free(g->nodes);
    free(g);
}

int cuStreamBeginCapture_v2(void *stream, int mode) {
    if (capturing) return 900;
    capturing = calloc(1, sizeof(graph));
    capturing->refs = 1;
    return 0;
}

int cuStreamEndCapture(void *stream, void **out) {
    if (!capturing) return 901;
    *out = capturing;
    capturing = NULL;
    return 0;
}

int cuGraphInstantiateWithFlags(void **exec, void *g, unsigned long long flags) {
    ((graph *) g)->refs++;
    *exec = g;
    return 0;
}

int cuGraphLaunch(void *exec, void *stream) {
    if (capturing) return 900;
    graph *g = exec;
    for (int i = 0; i < g->count; i++) g->nodes[i].run(g->nodes[i].blob);
    graph_launches++;
    return 0;
}

int cuGraphDestroy(void *g) { free_graph(g); return 0; }
int cuGraphExecDestroy(void *exec) { free_graph(exec); return 0; }

/* Kernels the engine never launches resolve to this, which fails the launch. */
static void not_emulated(void **p, int gx, int gy) {
}

int cuInit(unsigned flags) { return 0; }
int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int ordinal) { return ordinal == 0 ? (*d = 0, 0) : 101; }
int cuDeviceGetAttribute(int *v, int attribute, int device) { *v = attribute == 75 ? 9 : 0; return 0; }
int cuDeviceGetName(char *name, int length, int device) { strncpy(name, "emulated GPU", length); return 0; }
int cuDeviceTotalMem_v2(size_t *bytes, int device) { *bytes = (size_t) 1 << 34; return 0; }
int cuDevicePrimaryCtxRetain(void **context, int device) { *context = (void *) 1; return 0; }
int cuDevicePrimaryCtxRelease_v2(int device) { return 0; }
int cuCtxSetCurrent(void *context) { return 0; }
int cuStreamCreate(void **stream, unsigned flags) { *stream = (void *) 2; return 0; }
int cuStreamSynchronize(void *stream);
int cuStreamDestroy_v2(void *stream) { return 0; }
int cuMemAlloc_v2(unsigned long long *pointer, size_t bytes) { *pointer = (unsigned long long) (size_t) calloc(1, bytes); return 0; }
int cuMemFree_v2(unsigned long long pointer);
int cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t n, void *s);
int cuModuleLoadData(void **module, const void *image) { *module = (void *) 3; return 0; }

int cuModuleGetFunction(void **function, void *module, const char *name) {
    for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
        if (strcmp(KERNELS[i].name, name) == 0) {
            *function = (void *) KERNELS[i].run;
            return 0;
        }
    }
    *function = (void *) not_emulated;
    return 0;
}

int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void *stream, void **params, void **extra) {
    if (f == (void *) not_emulated) return 500;
    if (capturing) {
        const char *types = parameters_of(f);
        launch_blob *l = calloc(1, sizeof(launch_blob));
        l->f = (kernel) f;
        l->gx = (int) gx;
        l->gy = (int) gy;
        for (int i = 0; types[i]; i++) {
            memcpy(l->values[i], params[i], types[i] == 'p' ? 8 : 4);
            l->params[i] = l->values[i];
        }
        emulated_record(run_launch, l);
        return 0;
    }
    ((kernel) f)(params, (int) gx, (int) gy);
    return 0;
}

int cuStreamSynchronize(void *stream) { return capturing ? 900 : 0; }
int cuMemFree_v2(unsigned long long pointer) {
    if (capturing) return 900;
    free((void *) (size_t) pointer);
    return 0;
}

int cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t n, void *s) {
    if (capturing) return 900;
    memcpy((void *) (size_t) dst, src, n);
    return 0;
}

/* Device-to-host copies so far: what the device-resident loop's tests count (one a decode step). */
static long long dtoh_copies;
long long emulated_dtoh_copies(void) { return dtoh_copies; }

int cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t n, void *s) {
    if (capturing) return 900;
    dtoh_copies++;
    memcpy(dst, (void *) (size_t) src, n);
    return 0;
}

int cuMemcpyDtoDAsync_v2(unsigned long long dst, unsigned long long src, size_t n, void *s) {
    copy_blob c = {dst, src, n};
    if (!emulated_record(run_copy, copy_of(&c, sizeof c))) run_copy(&c);
    return 0;
}

int cuMemsetD8Async(unsigned long long dst, unsigned char value, size_t n, void *s) {
    fill_blob f = {dst, value, n};
    if (!emulated_record(run_fill, copy_of(&f, sizeof f))) run_fill(&f);
    return 0;
}

/* CUDA_MEMCPY2D, device to device: offsets as fake_cuda_copy.c checks against cuda.h. */
int cuMemcpy2DAsync_v2(const size_t *c, void *stream) {
    copy2d_blob b;
    memcpy(b.c, c, sizeof b.c);
    if (!emulated_record(run_copy2d, copy_of(&b, sizeof b))) copy_rows(c);
    return 0;
}

int cuGetErrorName(int error, const char **name) { *name = error == 500 ? "CUDA_ERROR_NOT_FOUND" : "CUDA_ERROR_UNKNOWN"; return 0; }
int cuGetErrorString(int error, const char **text) { *text = "not emulated"; return 0; }
