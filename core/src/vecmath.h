/* vecmath.h: vectorised inner loops shared by the CPU ops (row max, exp with its sum,
 * dropout masks from the counter hash). Internal to libzoo; no BLAS-level work here. */
#ifndef ZOO_VECMATH_H
#define ZOO_VECMATH_H

#include <stdint.h>
#include <string.h>

/* The library is built for baseline x86-64; hot loops carry AVX-512 and AVX2 clones
 * picked at load time. Only IEEE mul/add/div/sqrt (no FMA contraction in ISO C mode)
 * and sums in VEC_LANES fixed partial sums: every clone gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ZOO_NO_CLONES)
#define VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VEC_CLONES
#endif

/* Sums are kept in VEC_LANES partial sums (fixed order, whatever the vector width). */
#define VEC_LANES 16

/* Helpers called from the clones: GCC inlines a baseline function into an AVX2 or
 * AVX-512 clone only when told to (else each element pays a call). */
#if defined(__GNUC__)
#define VEC_INLINE static inline __attribute__((always_inline))
#else
#define VEC_INLINE static inline
#endif

VEC_INLINE float zoo_f_from_bits(int32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

VEC_INLINE int32_t zoo_bits_from_f(float f)
{
    int32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* The sum of VEC_LANES partial sums, as the tree that adds lane j + w into lane j for
 * w = 8, 4, 2, 1. Each level has a constant count, so it is one vector add in the
 * clones (a loop over w compiled to scalar adds through memory: in the recurrence's
 * backward, with five sums a row, about half its time); the same tree, the same bits. */
_Static_assert(VEC_LANES == 16, "zoo_lanes_total is written for 16 lanes");
#if defined(_OPENMP)
#define VEC_SIMD _Pragma("omp simd")
#else
#define VEC_SIMD /* a test built without OpenMP includes this header */
#endif
/* zoo_lanes_total (float) and zoo_lanes_total_d (double): one body for both types. */
#define VEC_LANES_TOTAL(T, name)                                                           \
    VEC_INLINE T name(T *acc)                                                              \
    {                                                                                      \
        VEC_SIMD                                                                           \
        for (int j = 0; j < 8; j++)                                                        \
            acc[j] += acc[j + 8];                                                          \
        VEC_SIMD                                                                           \
        for (int j = 0; j < 4; j++)                                                        \
            acc[j] += acc[j + 4];                                                          \
        acc[0] += acc[2];                                                                  \
        acc[1] += acc[3];                                                                  \
        return acc[0] + acc[1];                                                            \
    }
VEC_LANES_TOTAL(float, zoo_lanes_total)
VEC_LANES_TOTAL(double, zoo_lanes_total_d)

/* exp(x) for x in [-87, 88] (x below -87 returns 0): Cody-Waite reduction
 * x = n ln2 + r with |r| <= ln2/2, Cephes' degree-6 polynomial for e^r, then 2^n
 * assembled in the exponent bits. Max error about 2 ulp; branch free, so it vectorises
 * (the CPU's softmax, log-sum-exp and sigmoid). */
VEC_INLINE float zoo_exp_poly(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    /* n as an integer, |n| <= 127 for finite x. Unsigned arithmetic: a NaN input (a
     * diverged run) gives garbage bits here, and a NaN result, but no undefined shift. */
    uint32_t ni = (uint32_t)zoo_bits_from_f(t) - (uint32_t)zoo_bits_from_f(magic);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * (r * r) + r + 1.0f;
    float e = y * zoo_f_from_bits((int32_t)((ni + 127u) << 23));
    return x < -87.0f ? 0.0f : e;
}

/* max of x[0..n), n >= 1. */
float zoo_vec_max(const float *x, int64_t n);

/* y[i] = exp(x[i] - shift) (y may be x, or NULL to only sum); returns the sum of those
 * values, in an order fixed by n alone. For x[i] - shift <= 0 (softmax, log-sum-exp):
 * within 2 ulp of expf, and 0 below -87 (where expf gives < 1.7e-38). */
float zoo_vec_expsum(const float *x, float *y, int64_t n, float shift);

/* y[i] = c * exp(x[i] - shift), same exp as zoo_vec_expsum. */
void zoo_vec_expscale(const float *x, float *y, int64_t n, float shift, float c);

/* y[i] *= c */
void zoo_vec_scale(float *y, int64_t n, float c);

/* Inverted dropout of x[0..n) into y: element i is kept (y = c * x) exactly when
 * zoo_hash_uniform(key, idx0 + i) >= p, else y = 0; `thresh` is
 * zoo_vec_dropout_threshold(p). Same mask on every thread count and machine. */
void zoo_vec_dropout(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh, float c);
/* Same mask, accumulated: y[i] += c * x[i] where kept (dropout's backward). */
void zoo_vec_dropout_acc(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh, float c);
/* The integer form of "u >= p" for u = (hash >> 11) * 2^-53: (hash >> 11) >= thresh. */
uint64_t zoo_vec_dropout_threshold(double p);

#endif
