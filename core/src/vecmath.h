/* vecmath.h: vectorised inner loops shared by the CPU ops (row max, exp with its sum,
 * dropout masks from the counter hash). Internal to libzoo; no BLAS-level work here. */
#ifndef ZOO_VECMATH_H
#define ZOO_VECMATH_H

#include <stdint.h>

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
