/* vecmath.c: vectorised inner loops shared by the CPU ops: row max, exp (softmax and
 * log-sum-exp), scaling, dropout masks. Each is built for AVX-512, AVX2 and baseline
 * x86-64 and picked at load time. Matrix products are not here: they go to BLAS. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "vecmath.h"

#define LANES VEC_LANES

/* The library is built for baseline x86-64 (no -march), so the hot loops carry their
 * own clones. Only IEEE mul/add/compare are used (no FMA contraction in ISO C mode), so
 * every clone returns bitwise the same values. */
/* Float compare-selects (clamps, dropout) become vector blends only without the promise
 * to keep FP exception flags exact; values are unchanged (this is not fast-math). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

VEC_CLONES static float vec_max_clones(const float *x, int64_t n)
{
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (int64_t i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

VEC_CLONES static float vec_expsum_clones(const float *x, float *y, int64_t n, float shift)
{
    float acc[LANES] = {0};
    int64_t nv = n / LANES * LANES;
    /* two loops rather than a test inside: each stays one straight vector body */
    if (y) {
        for (int64_t i = 0; i < nv; i += LANES) {
#pragma omp simd
            for (int j = 0; j < LANES; j++) {
                float e = zoo_exp_poly(x[i + j] - shift);
                y[i + j] = e;
                acc[j] += e;
            }
        }
    } else {
        for (int64_t i = 0; i < nv; i += LANES) {
#pragma omp simd
            for (int j = 0; j < LANES; j++)
                acc[j] += zoo_exp_poly(x[i + j] - shift);
        }
    }
    for (int64_t i = nv; i < n; i++) {
        float e = zoo_exp_poly(x[i] - shift);
        acc[i - nv] += e;
        if (y)
            y[i] = e;
    }
    return zoo_lanes_total(acc);
}

VEC_CLONES static void vec_expscale_clones(const float *x, float *y, int64_t n, float shift, float c)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] = c * zoo_exp_poly(x[i] - shift);
}

VEC_CLONES static void vec_scale_clones(float *y, int64_t n, float c)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] *= c;
}

uint64_t zoo_vec_dropout_threshold(double p)
{
    /* u = k * 2^-53 with integer k < 2^53, so u >= p  <=>  k >= ceil(p * 2^53) (exact) */
    if (p <= 0.0)
        return 0;
    double tq = ceil(p * 9007199254740992.0);
    return tq >= 9007199254740992.0 ? (uint64_t)1 << 53 : (uint64_t)tq;
}

VEC_CLONES static void vec_dropout_clones(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh,
                                float c)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        /* zoo_hash_uniform(key, idx0 + i) >= p, in integers */
        uint64_t z = zoo_mix64(key ^ zoo_mix64(idx0 + (uint64_t)i)) >> 11;
        y[i] = z >= thresh ? c * x[i] : 0.0f;
    }
}

VEC_CLONES static void vec_dropout_acc_clones(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh,
                                    float c)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = zoo_mix64(key ^ zoo_mix64(idx0 + (uint64_t)i)) >> 11;
        y[i] += z >= thresh ? c * x[i] : 0.0f;
    }
}

/* The entry points: GCC gives a clone dispatcher (ifunc) default visibility whatever
 * -fvisibility says, so the clones stay static and these plain functions are what the
 * ops call (and all that libzoo knows of them). */
float zoo_vec_max(const float *x, int64_t n)
{
    return vec_max_clones(x, n);
}

float zoo_vec_expsum(const float *x, float *y, int64_t n, float shift)
{
    return vec_expsum_clones(x, y, n, shift);
}

void zoo_vec_expscale(const float *x, float *y, int64_t n, float shift, float c)
{
    vec_expscale_clones(x, y, n, shift, c);
}

void zoo_vec_scale(float *y, int64_t n, float c)
{
    vec_scale_clones(y, n, c);
}

void zoo_vec_dropout(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh, float c)
{
    vec_dropout_clones(x, y, n, key, idx0, thresh, c);
}

void zoo_vec_dropout_acc(const float *x, float *y, int64_t n, uint64_t key, uint64_t idx0, uint64_t thresh,
                         float c)
{
    vec_dropout_acc_clones(x, y, n, key, idx0, thresh, c);
}
