/* adamw.c: one AdamW step over the graph's flat parameter, gradient and moment
 * buffers, in PyTorch's order of operations (torch.optim.AdamW, no amsgrad).
 * Learning-rate schedules live in train.c; buffers (non-trainable) are skipped. */
#include <math.h>

#include "zoo/run.h"

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
    const float decay = (float)(1.0 - lr * wd);
    const float b1 = (float)beta1, b2 = (float)beta2, a1 = (float)(1.0 - beta1), a2 = (float)(1.0 - beta2);
    const float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2), e = (float)eps;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        if (!mask[i])
            continue;
        float gi = gr[i];
        float pi = p[i] * decay;
        float mi = m[i] * b1 + a1 * gi;
        float vi = v[i] * b2 + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * (mi / (sqrtf(vi) / bc2s + e));
    }
}
