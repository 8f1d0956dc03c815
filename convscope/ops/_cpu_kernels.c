/*
 * CPU kernels for the costliest steps of a small CNN's training step, on channels-last
 * (N, H, W, C) contiguous tensors:
 *
 *   - 2x2 / stride-2 max pooling that records the winning cell of each window as one byte
 *     (0..3) instead of PyTorch's int64 index, and a backward that writes every input cell
 *     once (no zero fill followed by a scatter); optionally with the relu that follows it;
 *   - a convolution with few input channels (stride 1, no dilation, 'valid') followed by that
 *     pooling, computed together: the full-resolution feature map is never written. Its
 *     backward gives the kernel and bias gradients from the recorded winners;
 *   - a 3x3 convolution with many input channels followed by that pooling, by Winograd's
 *     F(2x2, 3x3) (each pooling window is one Winograd tile), float32, with all three
 *     gradients: the layers after the first, where most of the arithmetic is.
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

/* ---- 3x3 convolution (many input channels) + 2x2 max pooling, by Winograd F(2x2, 3x3) -------
 *
 * The pooled cell (i, j) of a 3x3 'valid' convolution followed by 2x2/2 max pooling covers the
 * convolution's rows 2i, 2i + 1 and columns 2j, 2j + 1, which input rows 2i .. 2i + 3 and
 * columns 2j .. 2j + 3 determine: exactly one tile of Winograd's F(2x2, 3x3), which computes
 * such a 2x2 output from a 4x4 input tile with 16 multiplications per input and output channel
 * pair instead of 36 (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 *
 *     Y = A^T [ (G g G^T) (.) (B^T d B) ] A      (.) elementwise over the 16 positions p
 *
 * Summed over input channels, each position p is a matrix product, tiles x Ci by Ci x C, so
 * the work is 16 small GEMMs per block of tiles. A convolution row or column that no pooling
 * window covers (the last one of an odd-sized map) is never computed. The backward runs the
 * same way: dM = A dY A^T from the winners' gradients, dU_p += V_p^T dM_p (the kernel's
 * gradient, transformed back by G^T dU G), dV_p = dM_p U_p^T and the input gradient B dV B^T,
 * summed over the overlapping tiles. Sums run in float32, in another order than a direct
 * convolution: values agree with it to float32 rounding.
 *
 * Channel counts Ci and Cp are whole vectors (the caller zero-pads); tensors are channels-last:
 * x (N, H, W, Ci); u (16, Ci, Cp) the transformed kernel, ut (16, Cp, Ci) the same transposed;
 * bias (Cp) or NULL; out and code (N, Ho, Wo, Cp), Ho = (H - 2) / 2, Wo = (W - 2) / 2.
 */

/* C[M x Ncols] (+)= A[M x K] B[K x Ncols], B and C row-major with whole vectors of columns, A's
 * element (m, k) at a[m * ar + k * ak]. C is computed GEMM_ROWS x GEMM_VECTORS registers at a
 * time: per k, GEMM_VECTORS loads of B and GEMM_ROWS broadcasts of A feed their product. */
#define GEMM_ROWS 6
#define GEMM_VECTORS (LANES >= 16 ? 4 : 2) /* 24 of AVX-512's 32 registers; 12 of AVX2's 16 */

CS_INLINE void gemm_block(const float *CS_RESTRICT a, int64_t ar, int64_t ak, const float *CS_RESTRICT b,
                          int64_t ldb, float *CS_RESTRICT c, int64_t ldc, int64_t K, int R, int V,
                          int accumulate) {
    vfloat acc[GEMM_ROWS][GEMM_VECTORS];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++)
            acc[r][v] = accumulate ? load_floats(c + r * ldc + v * LANES) : (vfloat){0};
    for (int64_t k = 0; k < K; k++) {
        vfloat column[GEMM_VECTORS];
        for (int v = 0; v < V; v++) column[v] = load_floats(b + k * ldb + v * LANES);
        for (int r = 0; r < R; r++) {
            const float s = a[r * ar + k * ak];
            for (int v = 0; v < V; v++) acc[r][v] += s * column[v];
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) store_floats(c + r * ldc + v * LANES, acc[r][v]);
}

/* A copy of gemm_block per block shape, so that its loops unroll and acc stays in registers. */
#define GEMM_CASE(R, V) \
    case (R) * 8 + (V): gemm_block(a, ar, ak, b, ldb, c, ldc, K, R, V, accumulate); break;
#if GEMM_VECTORS == 4
#define GEMM_CASES(R) GEMM_CASE(R, 1) GEMM_CASE(R, 2) GEMM_CASE(R, 3) GEMM_CASE(R, 4)
#else
#define GEMM_CASES(R) GEMM_CASE(R, 1) GEMM_CASE(R, 2)
#endif

static void gemm_block_any(const float *CS_RESTRICT a, int64_t ar, int64_t ak, const float *CS_RESTRICT b,
                           int64_t ldb, float *CS_RESTRICT c, int64_t ldc, int64_t K, int R, int V,
                           int accumulate) {
    switch (R * 8 + V) {
        GEMM_CASES(1) GEMM_CASES(2) GEMM_CASES(3) GEMM_CASES(4) GEMM_CASES(5) GEMM_CASES(6)
        default: break;
    }
}

/* Rows go in blocks of at most GEMM_ROWS, as even as possible (25 tiles: five blocks of 5). */
static void gemm(const float *CS_RESTRICT a, int64_t ar, int64_t ak, const float *CS_RESTRICT b, int64_t ldb,
                 float *CS_RESTRICT c, int64_t ldc, int64_t M, int64_t K, int64_t Ncols, int accumulate) {
    const int64_t blocks = (M + GEMM_ROWS - 1) / GEMM_ROWS;
    for (int64_t col = 0; col < Ncols; col += GEMM_VECTORS * LANES) {
        const int64_t left = (Ncols - col) / LANES;
        const int V = (int)(left < GEMM_VECTORS ? left : GEMM_VECTORS);
        int64_t m = 0;
        for (int64_t block = 0; block < blocks; block++) {
            const int64_t rows = (M - m) / (blocks - block);
            gemm_block_any(a + m * ar, ar, ak, b + col, ldb, c + m * ldc + col, ldc, K, (int)rows, V, accumulate);
            m += rows;
        }
    }
}

/* The transforms, LANES channels at a time; tiles are row-major, p = 4 * row + column.
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1]. */
CS_INLINE void wino_input(const vfloat d[16], vfloat v[16]) { /* V = B^T d B */
    vfloat t[16];
    for (int j = 0; j < 4; j++) {
        t[j] = d[j] - d[8 + j];
        t[4 + j] = d[4 + j] + d[8 + j];
        t[8 + j] = d[8 + j] - d[4 + j];
        t[12 + j] = d[4 + j] - d[12 + j];
    }
    for (int i = 0; i < 16; i += 4) {
        v[i] = t[i] - t[i + 2];
        v[i + 1] = t[i + 1] + t[i + 2];
        v[i + 2] = t[i + 2] - t[i + 1];
        v[i + 3] = t[i + 1] - t[i + 3];
    }
}

CS_INLINE void wino_input_backward(const vfloat dv[16], vfloat dd[16]) { /* dd = B dV B^T */
    vfloat t[16];
    for (int j = 0; j < 4; j++) {
        t[j] = dv[j];
        t[4 + j] = dv[4 + j] - dv[8 + j] + dv[12 + j];
        t[8 + j] = dv[4 + j] + dv[8 + j] - dv[j];
        t[12 + j] = -dv[12 + j];
    }
    for (int i = 0; i < 16; i += 4) {
        dd[i] = t[i];
        dd[i + 1] = t[i + 1] - t[i + 2] + t[i + 3];
        dd[i + 2] = t[i + 1] + t[i + 2] - t[i];
        dd[i + 3] = -t[i + 3];
    }
}

CS_INLINE void wino_output(const vfloat m[16], vfloat y[4]) { /* Y = A^T M A */
    vfloat t[8];
    for (int j = 0; j < 4; j++) {
        t[j] = m[j] + m[4 + j] + m[8 + j];
        t[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
    }
    for (int i = 0; i < 2; i++) {
        y[2 * i] = t[4 * i] + t[4 * i + 1] + t[4 * i + 2];
        y[2 * i + 1] = t[4 * i + 1] - t[4 * i + 2] - t[4 * i + 3];
    }
}

CS_INLINE void wino_output_backward(const vfloat dy[4], vfloat dm[16]) { /* dM = A dY A^T */
    vfloat t[8];
    for (int i = 0; i < 2; i++) {
        t[4 * i] = dy[2 * i];
        t[4 * i + 1] = dy[2 * i] + dy[2 * i + 1];
        t[4 * i + 2] = dy[2 * i] - dy[2 * i + 1];
        t[4 * i + 3] = -dy[2 * i + 1];
    }
    for (int j = 0; j < 4; j++) {
        dm[j] = t[j];
        dm[4 + j] = t[j] + t[4 + j];
        dm[8 + j] = t[j] - t[4 + j];
        dm[12 + j] = -t[4 + j];
    }
}

/* Tiles go in blocks of whole tile rows of one image, about WINO_BLOCK tiles: a block's
 * transformed inputs and products (16 x tiles x channels each) stay in the core's cache. */
#define WINO_BLOCK 32

static int64_t wino_block_rows(int64_t Ho, int64_t Wo) {
    const int64_t rows = WINO_BLOCK / (Wo > 0 ? Wo : 1);
    return rows < 1 ? 1 : rows > Ho ? Ho : rows;
}

/* Floats of scratch memory each thread needs (the caller allocates threads x this). */
CS_EXPORT int64_t cs_wino_scratch_floats(int64_t Ho, int64_t Wo, int64_t Ci, int64_t Cp) {
    return 16 * wino_block_rows(Ho, Wo) * Wo * (Ci + Cp) + 2 * LANES;
}

/* v[p][t][c] = the transformed input tiles of tile rows i0 .. i0 + rows of one image. */
static void wino_inputs(const float *CS_RESTRICT image, float *CS_RESTRICT v, int64_t W, int64_t Ci,
                        int64_t i0, int64_t rows, int64_t Wo, int64_t T) {
    for (int64_t t = 0; t < rows * Wo; t++) {
        const float *corner = image + (2 * (i0 + t / Wo) * W + 2 * (t % Wo)) * Ci;
        for (int64_t c0 = 0; c0 < Ci; c0 += LANES) {
            vfloat d[16], tile[16];
            for (int r = 0; r < 4; r++)
                for (int s = 0; s < 4; s++) d[4 * r + s] = load_floats(corner + (r * W + s) * Ci + c0);
            wino_input(d, tile);
            for (int p = 0; p < 16; p++) store_floats(v + (p * T + t) * Ci + c0, tile[p]);
        }
    }
}

/* The bias, the first maximum of the window's four values (as PyTorch's pooling picks it, NaN
 * winning) and its cell, relu with `relu`; stored with the winner's code where code is given. */
CS_INLINE void wino_pool_store(vfloat y[4], const float *CS_RESTRICT bias, int64_t c0, int relu,
                               float *CS_RESTRICT out, uint8_t *CS_RESTRICT code) {
    if (bias) {
        const vfloat b = load_floats(bias + c0);
        for (int q = 0; q < 4; q++) y[q] += b;
    }
    vfloat best = y[0];
    vint at = {0};
    for (int q = 1; q < 4; q++) {
        const vint wins = (y[q] > best) | (y[q] != y[q]);
        best = select_floats(wins, y[q], best);
        at = (at & ~wins) | (wins & q);
    }
    if (relu) {
        const vfloat zero = {0};
        const vint cut = best <= zero;
        best = select_floats(cut, zero, best);
        at = (at & ~cut) | (cut & CUT);
    }
    store_floats(out + c0, best);
    if (code) {
        const vbyte bytes = __builtin_convertvector(at, vbyte);
        memcpy(code + c0, &bytes, sizeof bytes);
    }
}

CS_EXPORT void cs_wino_pool_forward_f32(const float *CS_RESTRICT x, const float *CS_RESTRICT u,
                                        const float *CS_RESTRICT bias, float *CS_RESTRICT out,
                                        uint8_t *CS_RESTRICT code, float *CS_RESTRICT scratch, int64_t H,
                                        int64_t W, int64_t Ci, int64_t Cp, int64_t Ho, int64_t Wo, int relu,
                                        int64_t N, int threads) {
    const int64_t rows = wino_block_rows(Ho, Wo), blocks = (Ho + rows - 1) / rows, T = rows * Wo;
    PARALLEL(threads) {
        float *v = scratch + THREAD_NUM * cs_wino_scratch_floats(Ho, Wo, Ci, Cp);
        float *m = v + 16 * T * Ci;
        FOR_SHARE
        for (int64_t job = 0; job < N * blocks; job++) {
            const int64_t n = job / blocks, i0 = job % blocks * rows;
            const int64_t tiles = (i0 + rows <= Ho ? rows : Ho - i0) * Wo;
            wino_inputs(x + n * H * W * Ci, v, W, Ci, i0, tiles / Wo, Wo, T);
            for (int p = 0; p < 16; p++) /* M_p = V_p U_p */
                gemm(v + p * T * Ci, Ci, 1, u + p * Ci * Cp, Cp, m + p * T * Cp, Cp, tiles, Ci, Cp, 0);
            for (int64_t t = 0; t < tiles; t++) {
                const int64_t cell = (n * Ho + i0) * Wo + t;
                for (int64_t c0 = 0; c0 < Cp; c0 += LANES) {
                    vfloat products[16], y[4];
                    for (int p = 0; p < 16; p++) products[p] = load_floats(m + (p * T + t) * Cp + c0);
                    wino_output(products, y);
                    wino_pool_store(y, bias, c0, relu, out + cell * Cp, code ? code + cell * Cp : NULL);
                }
            }
        }
    }
}

/* dM = A dY A^T for a block's tiles, dY the pooled gradient at each window's winner (none where
 * relu cut the window), and the bias gradient. */
static void wino_output_grads(const float *CS_RESTRICT grad, const uint8_t *CS_RESTRICT code,
                              float *CS_RESTRICT m, float *CS_RESTRICT grad_bias, int64_t tiles, int64_t T,
                              int64_t Cp) {
    for (int64_t t = 0; t < tiles; t++)
        for (int64_t c0 = 0; c0 < Cp; c0 += LANES) {
            const vfloat g = load_floats(grad + t * Cp + c0), zero = {0};
            const vint at = load_codes(code + t * Cp + c0);
            vfloat dy[4], dm[16];
            for (int q = 0; q < 4; q++) dy[q] = select_floats(at == q, g, zero);
            if (grad_bias) store_floats(grad_bias + c0, load_floats(grad_bias + c0) + (dy[0] + dy[1] + dy[2] + dy[3]));
            wino_output_backward(dy, dm);
            for (int p = 0; p < 16; p++) store_floats(m + (p * T + t) * Cp + c0, dm[p]);
        }
}

/* Adds B dV B^T of a block's tiles into the image's input gradient. */
static void wino_input_grads(const float *CS_RESTRICT v, float *CS_RESTRICT image_grad, int64_t W, int64_t Ci,
                             int64_t i0, int64_t tiles, int64_t Wo, int64_t T) {
    for (int64_t t = 0; t < tiles; t++) {
        float *corner = image_grad + (2 * (i0 + t / Wo) * W + 2 * (t % Wo)) * Ci;
        for (int64_t c0 = 0; c0 < Ci; c0 += LANES) {
            vfloat dv[16], dd[16];
            for (int p = 0; p < 16; p++) dv[p] = load_floats(v + (p * T + t) * Ci + c0);
            wino_input_backward(dv, dd);
            for (int r = 0; r < 4; r++)
                for (int s = 0; s < 4; s++) {
                    float *cell = corner + (r * W + s) * Ci + c0;
                    store_floats(cell, load_floats(cell) + dd[4 * r + s]);
                }
        }
    }
}

/* grad (N, Ho, Wo, Cp) of the pooled output and the winners' codes give grad_in (N, H, W, Ci),
 * written whole (NULL: not wanted), and grad_u (threads, 16, Ci, Cp) and grad_bias (threads,
 * Cp), one part per thread, which the caller zeroes and sums (NULL: not wanted). Tiles overlap,
 * so images, not blocks, are split over the threads. */
CS_EXPORT void cs_wino_pool_backward_f32(const float *CS_RESTRICT x, const float *CS_RESTRICT ut,
                                         const float *CS_RESTRICT grad, const uint8_t *CS_RESTRICT code,
                                         float *CS_RESTRICT grad_in, float *CS_RESTRICT grad_u,
                                         float *CS_RESTRICT grad_bias, float *CS_RESTRICT scratch, int64_t H,
                                         int64_t W, int64_t Ci, int64_t Cp, int64_t Ho, int64_t Wo, int64_t N,
                                         int threads) {
    const int64_t rows = wino_block_rows(Ho, Wo), T = rows * Wo;
    PARALLEL(threads) {
        float *v = scratch + THREAD_NUM * cs_wino_scratch_floats(Ho, Wo, Ci, Cp);
        float *m = v + 16 * T * Ci;
        float *my_u = grad_u ? grad_u + THREAD_NUM * 16 * Ci * Cp : NULL;
        float *my_bias = grad_bias ? grad_bias + THREAD_NUM * Cp : NULL;
        FOR_SHARE
        for (int64_t n = 0; n < N; n++) {
            float *image_grad = grad_in ? grad_in + n * H * W * Ci : NULL;
            if (image_grad) memset(image_grad, 0, (size_t)(H * W * Ci) * sizeof(float));
            for (int64_t i0 = 0; i0 < Ho; i0 += rows) {
                const int64_t tiles = (i0 + rows <= Ho ? rows : Ho - i0) * Wo, first = (n * Ho + i0) * Wo * Cp;
                wino_output_grads(grad + first, code + first, m, my_bias, tiles, T, Cp);
                if (my_u) {
                    wino_inputs(x + n * H * W * Ci, v, W, Ci, i0, tiles / Wo, Wo, T);
                    for (int p = 0; p < 16; p++) /* dU_p += V_p^T dM_p */
                        gemm(v + p * T * Ci, 1, Ci, m + p * T * Cp, Cp, my_u + p * Ci * Cp, Cp, Ci, tiles, Cp, 1);
                }
                if (!image_grad) continue;
                for (int p = 0; p < 16; p++) /* dV_p = dM_p U_p^T */
                    gemm(m + p * T * Cp, Cp, 1, ut + p * Cp * Ci, Ci, v + p * T * Ci, Ci, tiles, Cp, Ci, 0);
                wino_input_grads(v, image_grad, W, Ci, i0, tiles, Wo, T);
            }
        }
    }
}

/* The kernel in the Winograd domain, U_p = (G g G^T)_p per input and output channel, from a
 * (C, Ci, 3, 3) kernel with element strides `stride` (any layout): u (16, Cip, Cop) or, with
 * `transposed`, (16, Cop, Cip), zero-padded. G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
 * Lanes run along u's rows (output channels, or input channels when transposed), gathered from
 * the kernel, whose layout has no such run. */
CS_EXPORT void cs_wino_kernel_f32(const float *CS_RESTRICT kernel, const int64_t *stride, float *CS_RESTRICT u,
                                  int64_t C, int64_t Ci, int64_t Cip, int64_t Cop, int transposed) {
    const int64_t outer = transposed ? C : Ci, inner = transposed ? Ci : C;
    const int64_t outer_stride = stride[transposed ? 0 : 1], inner_stride = stride[transposed ? 1 : 0];
    const int64_t row = transposed ? Cip : Cop;
    memset(u, 0, (size_t)(16 * Cip * Cop) * sizeof(float));
    for (int64_t a = 0; a < outer; a++)
        for (int64_t j0 = 0; j0 < inner; j0 += LANES) {
            const int64_t lanes = inner - j0 < LANES ? inner - j0 : LANES;
            vfloat g[9] = {{0}}, half[12], value;
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++)
                    for (int64_t j = 0; j < lanes; j++)
                        g[3 * k + l][j] = kernel[a * outer_stride + (j0 + j) * inner_stride + k * stride[2] + l * stride[3]];
            for (int l = 0; l < 3; l++) { /* G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 */
                half[l] = g[l];
                half[3 + l] = 0.5f * (g[l] + g[3 + l] + g[6 + l]);
                half[6 + l] = 0.5f * (g[l] - g[3 + l] + g[6 + l]);
                half[9 + l] = g[6 + l];
            }
            for (int r = 0; r < 4; r++) /* (G g) G^T, the same combinations along columns */
                for (int c = 0; c < 4; c++) {
                    const vfloat *h = half + 3 * r;
                    value = c == 0 ? h[0] : c == 1 ? 0.5f * (h[0] + h[1] + h[2]) : c == 2 ? 0.5f * (h[0] - h[1] + h[2]) : h[2];
                    float *at = u + (4 * r + c) * Cip * Cop + a * row + j0;
                    if (lanes == LANES) store_floats(at, value);
                    else for (int64_t j = 0; j < lanes; j++) at[j] = value[j];
                }
        }
}

/* The kernel gradient G^T dU G from grad_u's `parts` (parts, 16, Cip, Cop), written into a
 * (C, Ci, 3, 3) tensor with element strides `stride` (the kernel's own layout); lanes run along
 * the output channels. */
CS_EXPORT void cs_wino_kernel_grad_f32(const float *CS_RESTRICT grad_u, int64_t parts, float *CS_RESTRICT grad,
                                       const int64_t *stride, int64_t C, int64_t Ci, int64_t Cip, int64_t Cop) {
    for (int64_t i = 0; i < Ci; i++)
        for (int64_t o0 = 0; o0 < C; o0 += LANES) {
            const int64_t lanes = C - o0 < LANES ? C - o0 : LANES;
            vfloat du[16] = {{0}}, half[12];
            for (int64_t part = 0; part < parts; part++)
                for (int p = 0; p < 16; p++) du[p] += load_floats(grad_u + ((part * 16 + p) * Cip + i) * Cop + o0);
            for (int r = 0; r < 4; r++) { /* dU G, G^T's rows along columns */
                const vfloat *d = du + 4 * r;
                half[3 * r] = d[0] + 0.5f * (d[1] + d[2]);
                half[3 * r + 1] = 0.5f * (d[1] - d[2]);
                half[3 * r + 2] = 0.5f * (d[1] + d[2]) + d[3];
            }
            for (int l = 0; l < 3; l++) { /* G^T (dU G) */
                const vfloat value[3] = {half[l] + 0.5f * (half[3 + l] + half[6 + l]), 0.5f * (half[3 + l] - half[6 + l]),
                                         0.5f * (half[3 + l] + half[6 + l]) + half[9 + l]};
                for (int k = 0; k < 3; k++)
                    for (int64_t j = 0; j < lanes; j++)
                        grad[(o0 + j) * stride[0] + i * stride[1] + k * stride[2] + l * stride[3]] = value[k][j];
            }
        }
}

/* Version of the functions above; ops/cpu_kernels.py refuses a library built from other sources. */
CS_EXPORT int cs_kernels_version(void) { return 3; }

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
