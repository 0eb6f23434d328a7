/* adamw_math.h: one parameter's AdamW update (PyTorch's order of operations, decay
 * decoupled and first), written once for every backend: the CPU loop and the CUDA
 * kernel expand the same expressions. A CUDA source defines ZOO_MATH_FN as a
 * host-and-device inline function before including. */
#ifndef ZOO_ADAMW_MATH_H
#define ZOO_ADAMW_MATH_H

#include <math.h>

#include "../backend.h"

#ifndef ZOO_MATH_FN
#define ZOO_MATH_FN static inline
#endif

ZOO_MATH_FN void zoo_adamw_elem(float *p, float g, float *m, float *v, const zoo_step_state *k)
{
    float pi = *p * k->decay;
    float mi = *m * k->b1 + k->a1 * g;
    float vi = *v * k->b2 + k->a2 * g * g;
    *m = mi;
    *v = vi;
    *p = pi - k->step_size * (mi / (sqrtf(vi) / k->bc2s + k->eps));
}

#endif
