/*
 * CPU kernels for the two costliest memory-bound steps of a small CNN's training step, on
 * channels-last (N, H, W, C) contiguous tensors:
 *
 *   - 2x2 / stride-2 max pooling that records the winning cell of each window as one byte
 *     (0..3) instead of PyTorch's int64 index, and a backward that writes every input cell
 *     once (no zero fill followed by a scatter); optionally with the relu that follows it;
 *   - a convolution with few input channels (stride 1, no dilation, 'valid') followed by that
 *     pooling, computed together: the full-resolution feature map is never written. Its
 *     backward gives the kernel and bias gradients from the recorded winners.
 *
 * Window semantics are PyTorch's: cells are visited row by row, a cell wins when it is greater
 * than the best so far or is NaN; an odd last row or column is dropped. bfloat16 tensors are
 * handled as their uint16 bit patterns, widened to float32 for arithmetic.
 *
 * Every function splits the N * Ho pooled rows over `threads` OpenMP threads. Built with
 * -fopenmp, the library uses the OpenMP runtime PyTorch has loaded (libgomp), so its threads
 * are PyTorch's own. The module exposes no Python functions: convscope loads the shared library
 * with ctypes (see convscope/ops/cpu_kernels.py), which releases the GIL during each call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER)
#define CS_EXPORT __declspec(dllexport)
#define CS_RESTRICT __restrict
#define CS_INLINE static __forceinline
#else
#define CS_INLINE static inline __attribute__((always_inline))
#define CS_EXPORT __attribute__((visibility("default")))
#define CS_RESTRICT __restrict__
#endif

/* Vector width in floats: setup.py builds this file once per x86 instruction set level
 * (16 for AVX-512, 8 for AVX2) and ops/cpu_kernels.py loads the build the CPU can run. */
#ifndef CS_LANES
#define CS_LANES 4
#endif

#ifdef _OPENMP
#include <omp.h>
#define CS_PRAGMA(text) _Pragma(#text)
#define PARALLEL_FOR(threads) CS_PRAGMA(omp parallel for schedule(static) num_threads(threads))
#define PARALLEL(threads) CS_PRAGMA(omp parallel num_threads(threads))
#define FOR_SHARE CS_PRAGMA(omp for schedule(static))
#define THREAD_NUM omp_get_thread_num()
#else
#define PARALLEL_FOR(threads)
#define PARALLEL(threads)
#define FOR_SHARE
#define THREAD_NUM 0
#endif

static inline float bf16_to_float(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

static inline int is_nan(float value) { return value != value; }

/* ---- 2x2 max pooling ------------------------------------------------------------------- */

/* With `relu`, the forward functions apply relu to the pooled value too, and a window whose
 * maximum relu sets to zero (not NaN) records CUT: its gradient is zero in every cell, as relu's
 * backward would make it. */
#define CUT 4

#define MAXPOOL_FORWARD(NAME, T, WIDEN)                                                            \
    CS_EXPORT void NAME(const T *CS_RESTRICT x, T *CS_RESTRICT out,                                \
                        uint8_t *CS_RESTRICT code, int64_t H, int64_t W, int64_t C,                \
                        int64_t Ho, int64_t Wo, int relu, int64_t N, int threads) {                \
        PARALLEL_FOR(threads)                                                                      \
        for (int64_t r = 0; r < N * Ho; r++) {                                                     \
            const int64_t n = r / Ho, ho = r % Ho;                                                 \
            const T *top = x + (n * H + 2 * ho) * W * C;                                           \
            const T *bottom = top + W * C;                                                         \
            for (int64_t wo = 0; wo < Wo; wo++) {                                                  \
                const T *p0 = top + 2 * wo * C, *p1 = p0 + C;                                      \
                const T *p2 = bottom + 2 * wo * C, *p3 = p2 + C;                                   \
                T *o = out + (r * Wo + wo) * C;                                                    \
                uint8_t *k = code ? code + (r * Wo + wo) * C : NULL;                               \
                for (int64_t c = 0; c < C; c++) {                                                  \
                    float best = WIDEN(p0[c]), v;                                                  \
                    T kept = p0[c];                                                                \
                    uint8_t at = 0;                                                                \
                    v = WIDEN(p1[c]);                                                              \
                    if (v > best || is_nan(v)) { best = v; kept = p1[c]; at = 1; }                 \
                    v = WIDEN(p2[c]);                                                              \
                    if (v > best || is_nan(v)) { best = v; kept = p2[c]; at = 2; }                 \
                    v = WIDEN(p3[c]);                                                              \
                    if (v > best || is_nan(v)) { best = v; kept = p3[c]; at = 3; }                 \
                    if (relu && best <= 0.0f) { kept = 0; at = CUT; }                              \
                    o[c] = kept;                                                                   \
                    if (k) k[c] = at;                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

#define SAME(v) (v)
MAXPOOL_FORWARD(cs_maxpool2x2_forward_f32, float, SAME)
MAXPOOL_FORWARD(cs_maxpool2x2_forward_bf16, uint16_t, bf16_to_float)

/* The gradient goes to the winning cell of each window and zero to the other three; it is a
 * selection, so it works on bit patterns of either width. The caller zeroes a dropped odd
 * last row or column. */
#define MAXPOOL_BACKWARD(NAME, T)                                                                  \
    CS_EXPORT void NAME(const T *CS_RESTRICT grad, const uint8_t *CS_RESTRICT code,                \
                        T *CS_RESTRICT grad_in, int64_t H, int64_t W, int64_t C,                   \
                        int64_t Ho, int64_t Wo, int64_t N, int threads) {                          \
        PARALLEL_FOR(threads)                                                                      \
        for (int64_t r = 0; r < N * Ho; r++) {                                                     \
            const int64_t n = r / Ho, ho = r % Ho;                                                 \
            T *top = grad_in + (n * H + 2 * ho) * W * C;                                           \
            T *bottom = top + W * C;                                                               \
            for (int64_t wo = 0; wo < Wo; wo++) {                                                  \
                T *CS_RESTRICT p0 = top + 2 * wo * C;                                              \
                T *CS_RESTRICT p2 = bottom + 2 * wo * C;                                           \
                const T *CS_RESTRICT g = grad + (r * Wo + wo) * C;                                 \
                const uint8_t *CS_RESTRICT k = code + (r * Wo + wo) * C;                           \
                for (int64_t c = 0; c < C; c++) {                                                  \
                    const T v = g[c], at = k[c];                                                   \
                    p0[c] = v & (T) - (T)(at == 0);                                                \
                    p0[C + c] = v & (T) - (T)(at == 1);                                            \
                    p2[c] = v & (T) - (T)(at == 2);                                                \
                    p2[C + c] = v & (T) - (T)(at == 3);                                            \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

MAXPOOL_BACKWARD(cs_maxpool2x2_backward_b32, uint32_t)
MAXPOOL_BACKWARD(cs_maxpool2x2_backward_b16, uint16_t)

/* ---- convolution (few input channels) + 2x2 max pooling ------------------------------------
 *
 * x: (N, H, W, Ci) float32; kernel: (KH, KW, Ci, Cp) float32 and bias: (Cp) float32 or NULL,
 * where Cp is the output channel count C rounded up to a multiple of LANES, zero-padded. The
 * convolution is 'valid' with stride 1: a (H - KH + 1) x (W - KW + 1) map, pooled to Ho x Wo.
 * For a bfloat16 output, x, kernel and bias hold bfloat16 values (as autocast would cast them),
 * sums are kept in float32 and each convolution value is rounded to bfloat16 before the
 * windows compare them, as a bfloat16 convolution followed by pooling would.
 *
 * Written with GCC/Clang vector extensions: LANES channels at a time, the four window cells'
 * sums in registers while the taps are walked.
 */
#define LANES CS_LANES
#define MAX_ROW_TAPS 9 /* taps of the shapes conv_pool_grad_row serves */
typedef float vfloat __attribute__((vector_size(LANES * 4)));
typedef int32_t vint __attribute__((vector_size(LANES * 4)));
typedef uint32_t vuint __attribute__((vector_size(LANES * 4)));
typedef uint16_t vhalf __attribute__((vector_size(LANES * 2)));
typedef uint8_t vbyte __attribute__((vector_size(LANES)));

CS_INLINE vfloat load_floats(const float *p) { vfloat v; memcpy(&v, p, sizeof v); return v; }
CS_INLINE void store_floats(float *p, vfloat v) { memcpy(p, &v, sizeof v); }
CS_INLINE vfloat select_floats(vint mask, vfloat yes, vfloat no) {
    return (vfloat)(((vint)yes & mask) | ((vint)no & ~mask));
}

/* Round each lane to bfloat16 (nearest even; NaN to a quiet NaN), kept as float32. */
CS_INLINE vfloat round_lanes_to_bf16(vfloat v) {
    vuint bits = (vuint)v;
    vint nan = (vint)((bits & 0x7fffffffu) > 0x7f800000u);
    vuint rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
    return select_floats(nan, (vfloat)(rounded - rounded + 0x7fc00000u), (vfloat)rounded);
}

/* The four cells' convolution values for LANES channels from c0, their first maximum (as
 * PyTorch's pooling picks it) and its cell. */
CS_INLINE void conv_pool_lanes(const float *CS_RESTRICT patch, const float *CS_RESTRICT kernel,
                               const float *CS_RESTRICT bias, int64_t W, int64_t Ci,
                               int64_t KH, int64_t KW, int64_t Cp, int64_t c0, int bf16,
                               int relu, vfloat *best_out, vint *at_out) {
    vfloat a0 = {0}, a1, a2, a3;
    if (bias) a0 = load_floats(bias + c0);
    a1 = a2 = a3 = a0;
    const int64_t span = KW * Ci;
    for (int64_t ky = 0; ky < KH; ky++) {
        const float *top = patch + ky * W * Ci, *bottom = top + W * Ci;
        const float *wrow = kernel + ky * span * Cp + c0;
        for (int64_t t = 0; t < span; t++) {
            const vfloat w = load_floats(wrow + t * Cp);
            a0 += top[t] * w;
            a1 += top[Ci + t] * w;
            a2 += bottom[t] * w;
            a3 += bottom[Ci + t] * w;
        }
    }
    if (bf16) {
        a0 = round_lanes_to_bf16(a0); a1 = round_lanes_to_bf16(a1);
        a2 = round_lanes_to_bf16(a2); a3 = round_lanes_to_bf16(a3);
    }
    vfloat best = a0;
    vint at = {0};
    const vfloat cells[3] = {a1, a2, a3};
    for (int q = 1; q < 4; q++) {
        const vfloat v = cells[q - 1];
        const vint wins = (v > best) | (v != v);
        best = select_floats(wins, v, best);
        at = (at & ~wins) | (wins & q);
    }
    if (relu) {
        const vfloat zero = {0};
        const vint cut = best <= zero;
        best = select_floats(cut, zero, best);
        at = (at & ~cut) | (cut & CUT);
    }
    *best_out = best;
    *at_out = at;
}

/* The common first layers (3x3 and 5x5 kernels on 1 or 3 channels) get copies of the inner
 * function with constant sizes, which the compiler unrolls; other shapes use the general one. */
CS_INLINE void conv_pool_lanes_any(const float *CS_RESTRICT patch, const float *CS_RESTRICT kernel,
                                   const float *CS_RESTRICT bias, int64_t W, int64_t Ci,
                                   int64_t KH, int64_t KW, int64_t Cp, int64_t c0, int bf16,
                                   int relu, vfloat *best, vint *at) {
    if (Ci == 1 && KH == 3 && KW == 3)
        conv_pool_lanes(patch, kernel, bias, W, 1, 3, 3, Cp, c0, bf16, relu, best, at);
    else if (Ci == 3 && KH == 3 && KW == 3)
        conv_pool_lanes(patch, kernel, bias, W, 3, 3, 3, Cp, c0, bf16, relu, best, at);
    else if (Ci == 1 && KH == 5 && KW == 5)
        conv_pool_lanes(patch, kernel, bias, W, 1, 5, 5, Cp, c0, bf16, relu, best, at);
    else
        conv_pool_lanes(patch, kernel, bias, W, Ci, KH, KW, Cp, c0, bf16, relu, best, at);
}

#define CONV_POOL_FORWARD(NAME, T, NARROW, STORE, BF16)                                            \
    CS_EXPORT void NAME(const float *CS_RESTRICT x, const float *CS_RESTRICT kernel,               \
                        const float *CS_RESTRICT bias, T *CS_RESTRICT out,                         \
                        uint8_t *CS_RESTRICT code, int64_t H, int64_t W, int64_t Ci,               \
                        int64_t KH, int64_t KW, int64_t C, int64_t Cp, int64_t Ho,                 \
                        int64_t Wo, int relu, int64_t N, int threads) {                            \
        PARALLEL_FOR(threads)                                                                      \
        for (int64_t r = 0; r < N * Ho; r++) {                                                     \
            const int64_t n = r / Ho, ho = r % Ho;                                                 \
            /* Lanes outer, windows inner: a block's weights stay hot across the row. */          \
            for (int64_t c0 = 0; c0 < C; c0 += LANES) {                                            \
                for (int64_t wo = 0; wo < Wo; wo++) {                                              \
                    const float *patch = x + ((n * H + 2 * ho) * W + 2 * wo) * Ci;                 \
                    T *o = out + (r * Wo + wo) * C;                                                \
                    uint8_t *k = code ? code + (r * Wo + wo) * C : NULL;                           \
                    vfloat best;                                                                   \
                    vint at;                                                                       \
                    conv_pool_lanes_any(patch, kernel, bias, W, Ci, KH, KW, Cp, c0, BF16, relu,    \
                                        &best, &at);                                               \
                    if (c0 + LANES <= C) {                                                         \
                        STORE(o + c0, best);                                                       \
                        if (k) {                                                                   \
                            const vbyte bytes = __builtin_convertvector(at, vbyte);                \
                            memcpy(k + c0, &bytes, sizeof bytes);                                  \
                        }                                                                          \
                    } else {                                                                       \
                        for (int64_t j = 0; j < C - c0; j++) o[c0 + j] = NARROW(best[j]);          \
                        if (k)                                                                     \
                            for (int64_t j = 0; j < C - c0; j++) k[c0 + j] = (uint8_t)at[j];       \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* bfloat16 stores of values already rounded to bfloat16: the upper half of each float. */
#define FLOAT_BITS_TO_BF16(v) ((uint16_t)(((union { float f; uint32_t u; }){.f = (v)}).u >> 16))
CS_INLINE void store_bf16_lanes(uint16_t *p, vfloat v) {
    const vhalf half = __builtin_convertvector((vuint)v >> 16, vhalf);
    memcpy(p, &half, sizeof half);
}

CONV_POOL_FORWARD(cs_conv_pool_forward_f32, float, SAME, store_floats, 0)
CONV_POOL_FORWARD(cs_conv_pool_forward_bf16, uint16_t, FLOAT_BITS_TO_BF16, store_bf16_lanes, 1)

/* Kernel and bias gradients: each pooled output's gradient times the input patch under the
 * window's winning cell, summed into grad_kernel (KH, KW, Ci, Cp) and grad_bias (Cp), float32,
 * which the caller zeroes: one pair per thread, which the caller sums. The gradient is split
 * by winning cell once per window (g_q = g where cell q won, else 0), so each tap is four
 * multiply-adds. */
CS_INLINE void conv_pool_grad_lanes(const float *CS_RESTRICT patch, vfloat g, vint at,
                          float *CS_RESTRICT grad_kernel, float *CS_RESTRICT grad_bias,
                          int64_t W, int64_t Ci, int64_t KH, int64_t KW, int64_t Cp,
                          int64_t c0) {
    const vfloat zero = {0};
    const vfloat g0 = select_floats(at == 0, g, zero), g1 = select_floats(at == 1, g, zero);
    const vfloat g2 = select_floats(at == 2, g, zero), g3 = select_floats(at == 3, g, zero);
    store_floats(grad_bias + c0, load_floats(grad_bias + c0) + (g0 + g1 + g2 + g3));
    const int64_t span = KW * Ci;
    for (int64_t ky = 0; ky < KH; ky++) {
        const float *top = patch + ky * W * Ci, *bottom = top + W * Ci;
        float *wrow = grad_kernel + ky * span * Cp + c0;
        for (int64_t t = 0; t < span; t++) {
            vfloat dw = load_floats(wrow + t * Cp);
            dw += g0 * top[t] + g1 * top[Ci + t] + g2 * bottom[t] + g3 * bottom[Ci + t];
            store_floats(wrow + t * Cp, dw);
        }
    }
}

CS_INLINE void conv_pool_grad_lanes_any(const float *CS_RESTRICT patch, vfloat g, vint at,
                                        float *CS_RESTRICT grad_kernel,
                                        float *CS_RESTRICT grad_bias, int64_t W, int64_t Ci,
                                        int64_t KH, int64_t KW, int64_t Cp, int64_t c0) {
    if (Ci == 1 && KH == 3 && KW == 3)
        conv_pool_grad_lanes(patch, g, at, grad_kernel, grad_bias, W, 1, 3, 3, Cp, c0);
    else if (Ci == 3 && KH == 3 && KW == 3)
        conv_pool_grad_lanes(patch, g, at, grad_kernel, grad_bias, W, 3, 3, 3, Cp, c0);
    else if (Ci == 1 && KH == 5 && KW == 5)
        conv_pool_grad_lanes(patch, g, at, grad_kernel, grad_bias, W, 1, 5, 5, Cp, c0);
    else
        conv_pool_grad_lanes(patch, g, at, grad_kernel, grad_bias, W, Ci, KH, KW, Cp, c0);
}

CS_INLINE vint load_codes(const uint8_t *p) {
    vbyte bytes;
    memcpy(&bytes, p, sizeof bytes);
    return __builtin_convertvector(bytes, vint);
}

CS_INLINE vfloat load_bf16_lanes(const uint16_t *p) {
    vhalf half;
    memcpy(&half, p, sizeof half);
    return (vfloat)(__builtin_convertvector(half, vuint) << 16);
}

/* A whole row of windows for one block of lanes, for the shapes with constant sizes: the block's
 * kernel gradient stays in registers across the row instead of going through memory at every
 * window. */
CS_INLINE void conv_pool_grad_row(const float *CS_RESTRICT row, const void *grad_row, int bf16,
                                  const uint8_t *CS_RESTRICT code_row,
                                  float *CS_RESTRICT grad_kernel, float *CS_RESTRICT grad_bias,
                                  int64_t W, int64_t Ci, int64_t KH, int64_t KW, int64_t C,
                                  int64_t Cp, int64_t Wo, int64_t c0) {
    vfloat acc[MAX_ROW_TAPS];
    const int64_t span = KW * Ci;
    for (int64_t t = 0; t < KH * span; t++) acc[t] = load_floats(grad_kernel + t * Cp + c0);
    vfloat acc_bias = load_floats(grad_bias + c0);
    const vfloat zero = {0};
    for (int64_t wo = 0; wo < Wo; wo++) {
        vfloat g = {0};
        vint at = {0};
        const int64_t first = wo * C + c0;
        if (c0 + LANES <= C) {
            g = bf16 ? load_bf16_lanes((const uint16_t *)grad_row + first)
                     : load_floats((const float *)grad_row + first);
            at = load_codes(code_row + first);
        } else {
            for (int64_t j = 0; j < C - c0; j++)
                g[j] = bf16 ? bf16_to_float(((const uint16_t *)grad_row)[first + j])
                            : ((const float *)grad_row)[first + j];
            for (int64_t j = 0; j < C - c0; j++) at[j] = code_row[first + j];
        }
        const vfloat g0 = select_floats(at == 0, g, zero), g1 = select_floats(at == 1, g, zero);
        const vfloat g2 = select_floats(at == 2, g, zero), g3 = select_floats(at == 3, g, zero);
        acc_bias += g0 + g1 + g2 + g3;
        const float *patch = row + 2 * wo * Ci;
        for (int64_t ky = 0; ky < KH; ky++) {
            const float *top = patch + ky * W * Ci, *bottom = top + W * Ci;
            for (int64_t s = 0; s < span; s++)
                acc[ky * span + s] += g0 * top[s] + g1 * top[Ci + s] + g2 * bottom[s] + g3 * bottom[Ci + s];
        }
    }
    for (int64_t t = 0; t < KH * span; t++) store_floats(grad_kernel + t * Cp + c0, acc[t]);
    store_floats(grad_bias + c0, acc_bias);
}

#define CONV_POOL_BACKWARD(NAME, T, WIDEN, LOAD, BF16)                                                   \
    CS_EXPORT void NAME(const float *CS_RESTRICT x, const T *CS_RESTRICT grad,                     \
                        const uint8_t *CS_RESTRICT code, float *CS_RESTRICT grad_kernel,           \
                        float *CS_RESTRICT grad_bias, int64_t H, int64_t W, int64_t Ci,            \
                        int64_t KH, int64_t KW, int64_t C, int64_t Cp, int64_t Ho, int64_t Wo,     \
                        int64_t N, int threads) {                                                  \
        PARALLEL(threads) {                                                                        \
            float *mine = grad_kernel + THREAD_NUM * KH * KW * Ci * Cp;                            \
            float *mine_bias = grad_bias + THREAD_NUM * Cp;                                        \
            FOR_SHARE                                                                              \
            for (int64_t r = 0; r < N * Ho; r++) {                                                 \
                const int64_t n = r / Ho, ho = r % Ho;                                             \
                const float *row = x + (n * H + 2 * ho) * W * Ci;                                  \
                if (Ci == 1 && KH == 3 && KW == 3) {                                               \
                    for (int64_t c0 = 0; c0 < C; c0 += LANES)                                      \
                        conv_pool_grad_row(row, grad + r * Wo * C, BF16, code + r * Wo * C, mine,  \
                                           mine_bias, W, 1, 3, 3, C, Cp, Wo, c0);                  \
                    continue;                                                                      \
                }                                                                                  \
                for (int64_t wo = 0; wo < Wo; wo++) {                                              \
                    const float *patch = x + ((n * H + 2 * ho) * W + 2 * wo) * Ci;                 \
                    const T *gp = grad + (r * Wo + wo) * C;                                        \
                    const uint8_t *k = code + (r * Wo + wo) * C;                                   \
                    for (int64_t c0 = 0; c0 < C; c0 += LANES) {                                    \
                        vfloat g = {0};                                                            \
                        vint at = {0};                                                             \
                        if (c0 + LANES <= C) {                                                     \
                            g = LOAD(gp + c0);                                                     \
                            at = load_codes(k + c0);                                               \
                        } else {                                                                   \
                            for (int64_t j = 0; j < C - c0; j++) g[j] = WIDEN(gp[c0 + j]);         \
                            for (int64_t j = 0; j < C - c0; j++) at[j] = k[c0 + j];                \
                        }                                                                          \
                        conv_pool_grad_lanes_any(patch, g, at, mine, mine_bias, W, Ci, KH, KW,     \
                                                 Cp, c0);                                          \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

CONV_POOL_BACKWARD(cs_conv_pool_backward_f32, float, SAME, load_floats, 0)
CONV_POOL_BACKWARD(cs_conv_pool_backward_bf16, uint16_t, bf16_to_float, load_bf16_lanes, 1)

/* Version of the functions above; ops/cpu_kernels.py refuses a library built from other sources. */
CS_EXPORT int cs_kernels_version(void) { return 2; }

CS_EXPORT int cs_kernels_lanes(void) { return LANES; }

/* The module's name differs per build (setup.py): _cpu_kernels, _cpu_kernels_avx2, ... */
#ifndef CS_MODULE
#define CS_MODULE _cpu_kernels
#endif
#define CS_TEXT(name) #name
#define CS_NAME(name) CS_TEXT(name)
#define CS_INIT_NAME(name) PyInit_##name
#define CS_INIT(name) CS_INIT_NAME(name)

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, CS_NAME(CS_MODULE),
    "CPU kernels loaded through ctypes by convscope.ops.cpu_kernels.", -1, NULL,
};

PyMODINIT_FUNC CS_INIT(CS_MODULE)(void) { return PyModule_Create(&module); }
