/* adamw.c: one AdamW step over the graph's flat parameter, gradient and moment
 * buffers, in PyTorch's order of operations (torch.optim.AdamW, no amsgrad).
 * Learning-rate schedules live in train.c; buffers (non-trainable) are skipped. */
#include <math.h>
#include <string.h>

#include "vecmath.h"
#include "zoo/run.h"

#define CHUNK 16384 /* elements per task */

typedef struct adamw_consts {
    float decay, b1, b2, a1, a2, step, bc2s, e;
} adamw_consts;

/* One run of trainable elements; element-wise only, so every clone and every split of
 * the work gives the same bits. */
VEC_CLONES static void adamw_run(float *p, const float *g, float *m, float *v, int64_t n, const adamw_consts *k)
{
    const float decay = k->decay, b1 = k->b1, b2 = k->b2, a1 = k->a1, a2 = k->a2, step = k->step, bc2s = k->bc2s,
                e = k->e;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * decay;
        float mi = m[i] * b1 + a1 * gi;
        float vi = v[i] * b2 + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * (mi / (sqrtf(vi) / bc2s + e));
    }
}

void zoo_adamw_step(zoo_graph *g, double lr, double beta1, double beta2, double eps, double wd, int64_t t)
{
    int64_t n = 0;
    float *p = zoo_graph_params_flat(g, &n); /* (n) */
    float *gr = zoo_graph_grads_flat(g, NULL); /* (n) */
    float *m = zoo_graph_adam_m(g), *v = zoo_graph_adam_v(g); /* (n) each */
    const uint8_t *mask = zoo_graph_trainable_mask(g); /* (n) */
    if (!p || !gr || !m || !v || !mask || t < 1)
        return;
    /* Scalars in double as Python computes them, applied in float like PyTorch's
     * kernels on f32 tensors:
     *   p *= 1 - lr*wd                  (decoupled decay first, on every parameter)
     *   m = b1*m + (1-b1)*g ;  v = b2*v + (1-b2)*g*g
     *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)   (eps outside the sqrt) */
    const double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
    adamw_consts k;
    k.decay = (float)(1.0 - lr * wd);
    k.b1 = (float)beta1, k.b2 = (float)beta2, k.a1 = (float)(1.0 - beta1), k.a2 = (float)(1.0 - beta2);
    k.step = (float)(lr / bc1), k.bc2s = (float)sqrt(bc2), k.e = (float)eps;
    /* fixed chunks; inside each, the runs of trainable elements (buffers are skipped) */
#pragma omp parallel for schedule(static)
    for (int64_t c0 = 0; c0 < n; c0 += CHUNK) {
        int64_t end = n - c0 < CHUNK ? n : c0 + CHUNK, i = c0;
        while (i < end) {
            if (!mask[i]) {
                i++;
                continue;
            }
            const uint8_t *z = memchr(mask + i, 0, (size_t)(end - i));
            int64_t j = z ? (int64_t)(z - mask) : end;
            adamw_run(p + i, gr + i, m + i, v + i, j - i, &k);
            i = j;
        }
    }
}
