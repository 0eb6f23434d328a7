/* linear_attention_math.h: linear attention's feature maps (ops/linear_attention.c),
 * written once for every backend: the CPU kernels and the CUDA ones expand the same
 * expressions, in the same order. Plain functions of floats and pointers with no
 * globals; a CUDA source defines ZOO_MATH_FN as a host-and-device inline function
 * before including. */
#ifndef ZOO_LINEAR_ATTENTION_MATH_H
#define ZOO_LINEAR_ATTENTION_MATH_H

#include <math.h>
#include <stdint.h>

#include "zoo/graph.h"

#ifndef ZOO_MATH_FN
#define ZOO_MATH_FN static inline
#endif

#define ZOO_LA_RELU_FLOOR 1e-12f /* Zoology's ReLU map clamps at its eps */
#define ZOO_LA_SQRT2F 1.41421356237309505f

/* Elementwise maps (all but Taylor) and their derivatives. */
ZOO_MATH_FN float zoo_la_phi_el(int fm, float x)
{
    switch (fm) {
    case ZOO_FMAP_ELU1: return x > 0.0f ? x + 1.0f : expf(x);
    case ZOO_FMAP_RELU: return x >= ZOO_LA_RELU_FLOOR ? x : ZOO_LA_RELU_FLOOR;
    default: return x;
    }
}
ZOO_MATH_FN float zoo_la_phi_el_d(int fm, float x)
{
    switch (fm) {
    case ZOO_FMAP_ELU1: return x > 0.0f ? 1.0f : expf(x);
    case ZOO_FMAP_RELU: return x >= ZOO_LA_RELU_FLOOR ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

/* The prefix-sum form stores the Taylor map's second-order block once per unordered pair,
 * x_i^2 c2 on the diagonal and sqrt2 x_i x_j c2 for i < j: the same dot products as the
 * full vec(x x^T) (so the same numbers up to rounding) with f(f+1)/2 instead of f^2
 * features, the symmetric count Zoology reports as the state size. */
typedef struct zoo_la_fmap {
    int fm;
    int64_t f, F;
    float c1, c2; /* Taylor: 1/f^(1/4) and 1/(sqrt2 sqrt f) */
} zoo_la_fmap;

ZOO_MATH_FN zoo_la_fmap zoo_la_fmap_of(int fm, int64_t f)
{
    zoo_la_fmap m = {fm, f, fm == ZOO_FMAP_TAYLOR ? 1 + f + f * (f + 1) / 2 : f, (float)(1.0 / sqrt(sqrt((double)f))),
                     (float)(1.0 / (sqrt(2.0) * sqrt((double)f)))};
    return m;
}

/* phi(x): x (f) -> out (F) */
ZOO_MATH_FN void zoo_la_phi_full(const zoo_la_fmap *m, const float *x, float *out)
{
    int64_t f = m->f;
    if (m->fm != ZOO_FMAP_TAYLOR) {
        for (int64_t i = 0; i < f; i++)
            out[i] = zoo_la_phi_el(m->fm, x[i]);
        return;
    }
    out[0] = 1.0f;
    for (int64_t i = 0; i < f; i++)
        out[1 + i] = x[i] * m->c1;
    float *o2 = out + 1 + f;
    for (int64_t i = 0; i < f; i++) {
        *o2++ = x[i] * x[i] * m->c2;
        float a = x[i] * (ZOO_LA_SQRT2F * m->c2);
        for (int64_t j = i + 1; j < f; j++)
            *o2++ = a * x[j];
    }
}

/* dx += J_phi(x)^T dphi: x (f), dphi (F), dx (f) */
ZOO_MATH_FN void zoo_la_phi_full_bwd(const zoo_la_fmap *m, const float *x, const float *dphi, float *dx)
{
    int64_t f = m->f;
    if (m->fm != ZOO_FMAP_TAYLOR) {
        for (int64_t i = 0; i < f; i++)
            dx[i] += dphi[i] * zoo_la_phi_el_d(m->fm, x[i]);
        return;
    }
    for (int64_t i = 0; i < f; i++)
        dx[i] += dphi[1 + i] * m->c1;
    const float *d2 = dphi + 1 + f;
    for (int64_t i = 0; i < f; i++) {
        dx[i] += *d2++ * 2.0f * x[i] * m->c2;
        float si = 0, a = ZOO_LA_SQRT2F * m->c2;
        for (int64_t j = i + 1; j < f; j++, d2++) {
            si += *d2 * x[j];
            dx[j] += *d2 * a * x[i];
        }
        dx[i] += si * a;
    }
}

/* The masked form's kernel of the score: kappa(x) = 1 + x/sqrt f + x^2/(2f) for Taylor
 * (phi(q).phi(k) from q.k), the identity otherwise; and its derivative. */
ZOO_MATH_FN float zoo_la_kappa(const zoo_la_fmap *m, float x)
{
    return m->fm == ZOO_FMAP_TAYLOR ? 1.0f + x * (m->c1 * m->c1) + x * x * (m->c2 * m->c2) : x;
}
ZOO_MATH_FN float zoo_la_kappa_d(const zoo_la_fmap *m, float x)
{
    return m->fm == ZOO_FMAP_TAYLOR ? m->c1 * m->c1 + 2.0f * x * (m->c2 * m->c2) : 1.0f;
}

#endif
