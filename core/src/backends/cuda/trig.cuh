/* trig.cuh: sinf and cosf for kernels, accurate over the whole float range and kept in
 * registers. CUDA's own sinf/cosf reduce huge arguments (|x| > 105615) through an array
 * in local memory, which the device build refuses (-warn-lmem-usage is an error). Here
 * the reduction to r in [-pi/4, pi/4] is Cody-Waite in double (pi/2 in three 33-bit
 * parts, exact products) for |x| < 2^19, else Payne-Hanek in 64-bit integers over a
 * constant table of 2/pi's bits; sin r and cos r are Taylor polynomials in double, so
 * the float result is the correctly rounded value except in rare halfway cases, as
 * glibc's sinf/cosf, the CPU's. Quadrant and sign are applied at the end. */
#ifndef ZOO_CUDA_TRIG_CUH
#define ZOO_CUDA_TRIG_CUH

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.cuh"

/* floor(2/pi * 2^(8 (i + 1))) mod 2^32: 32-bit windows of 2/pi's bits, 8 bits apart. */
#define ZOO_CU_INV_PIO4_BITS                                                               \
    {0xa2u,       0xa2f9u,     0xa2f983u,   0xa2f9836eu, 0xf9836e4eu, 0x836e4e44u,             \
     0x6e4e4415u, 0x4e441529u, 0x441529fcu, 0x1529fc27u, 0x29fc2757u, 0xfc2757d1u,             \
     0x2757d1f5u, 0x57d1f534u, 0xd1f534ddu, 0xf534ddc0u, 0x34ddc0dbu, 0xddc0db62u,             \
     0xc0db6295u, 0xdb629599u, 0x6295993cu, 0x95993c43u, 0x993c4390u, 0x3c439041u}
#ifdef __CUDACC__
static __constant__ const uint32_t zoo_cu_inv_pio4_dev[24] = ZOO_CU_INV_PIO4_BITS;
#endif
static const uint32_t zoo_cu_inv_pio4_host[24] = ZOO_CU_INV_PIO4_BITS;

/* x >= 0 finite: r = x - n pi/2 in [-pi/4, pi/4] (to rounding), *q = n mod 4. */
ZOO_HD double zoo_cu_trig_reduce(float x, int *q)
{
    if (x < 524288.0f) { /* n < 2^20: n * (33-bit part) is exact */
        double xd = x, n = (double)(int64_t)(xd * 6.36619772367581382433e-01 + 0.5);
        *q = (int)((int64_t)n & 3);
        return ((xd - n * 1.57079632673412561417e+00) - n * 6.07710050630396597660e-11) -
               n * 2.02226624871116645580e-21;
    }
    /* x = M 2^(E - 150), E >= 146: x 2/pi mod 4 as a 2.62 fixed-point number from three
     * 32-bit windows of 2/pi (optimized-routines' reduce_large; error < 2^-60). */
#ifdef __CUDA_ARCH__
    const uint32_t *tab = zoo_cu_inv_pio4_dev;
#else
    const uint32_t *tab = zoo_cu_inv_pio4_host;
#endif
    uint32_t xi;
    memcpy(&xi, &x, sizeof xi);
    const uint32_t *arr = tab + ((xi >> 26) & 15);
    uint32_t m = ((xi & 0x7fffffu) | 0x800000u) << ((xi >> 23) & 7);
    uint64_t r0 = (uint32_t)(m * arr[0]), r1 = (uint64_t)m * arr[4], r2 = (uint64_t)m * arr[8];
    r0 = ((r2 >> 32) | (r0 << 32)) + r1;
    uint64_t n = (r0 + (1ull << 61)) >> 62;
    r0 -= n << 62;
    *q = (int)(n & 3);
    return (double)(int64_t)r0 * (1.5707963267948966 / 4611686018427387904.0); /* pi/2 2^-62 */
}

/* sin r and cos r for |r| <= pi/4 (Taylor to r^17 and r^16: error below 2^-53). */
ZOO_HD double zoo_cu_sin_poly(double r)
{
    double z = r * r;
    double p = 1.0 / 355687428096000.0;
    p = p * z - 1.0 / 1307674368000.0;
    p = p * z + 1.0 / 6227020800.0;
    p = p * z - 1.0 / 39916800.0;
    p = p * z + 1.0 / 362880.0;
    p = p * z - 1.0 / 5040.0;
    p = p * z + 1.0 / 120.0;
    p = p * z - 1.0 / 6.0;
    return r + r * z * p;
}
ZOO_HD double zoo_cu_cos_poly(double r)
{
    double z = r * r;
    double p = 1.0 / 20922789888000.0;
    p = p * z - 1.0 / 87178291200.0;
    p = p * z + 1.0 / 479001600.0;
    p = p * z - 1.0 / 3628800.0;
    p = p * z + 1.0 / 40320.0;
    p = p * z - 1.0 / 720.0;
    p = p * z + 1.0 / 24.0;
    p = p * z - 0.5;
    return 1.0 + z * p;
}

ZOO_HD float zoo_cu_sinf(float x)
{
    float ax = fabsf(x);
    if (!(ax < INFINITY))
        return x - x; /* NaN for inf and NaN */
    if (ax == 0.0f)
        return x; /* keeps the sign of zero */
    int q;
    double r = zoo_cu_trig_reduce(ax, &q);
    double v = (q & 1) ? zoo_cu_cos_poly(r) : zoo_cu_sin_poly(r);
    float y = (float)((q & 2) ? -v : v);
    return x < 0.0f ? -y : y;
}

ZOO_HD float zoo_cu_cosf(float x)
{
    float ax = fabsf(x);
    if (!(ax < INFINITY))
        return x - x;
    int q;
    double r = zoo_cu_trig_reduce(ax, &q);
    double v = (q & 1) ? zoo_cu_sin_poly(r) : zoo_cu_cos_poly(r);
    return (float)(((q + 1) & 2) ? -v : v);
}

#endif
