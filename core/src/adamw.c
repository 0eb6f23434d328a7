/* adamw.c: one AdamW step (torch.optim.AdamW, no amsgrad): the step's scalars are
 * computed here on the host and written to the backend's step state; the backend's
 * optimizer kernel applies them over the flat buffers. Learning-rate schedules live in
 * train.c; buffers (non-trainable) are skipped through the trainable mask. */
#include <math.h>

#include "internal.h"
#include "zoo/run.h"

int zoo_adamw_scalars(zoo_graph *g, double lr, double beta1, double beta2, double eps, double wd, int64_t t)
{
    if (!g || !g->planned)
        return ZOO_FAIL(ZOO_ERR_STATE, "AdamW step before zoo_graph_plan");
    if (t < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "AdamW step count %lld: steps count from 1", (long long)t);
    /* Scalars in double as Python computes them, applied in float like PyTorch's
     * kernels on f32 tensors:
     *   p *= 1 - lr*wd                  (decoupled decay first, on every parameter)
     *   m = b1*m + (1-b1)*g ;  v = b2*v + (1-b2)*g*g
     *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)   (eps outside the sqrt) */
    const double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
    zoo_step_state *k = &g->exec.host_step;
    k->decay = (float)(1.0 - lr * wd);
    k->b1 = (float)beta1, k->b2 = (float)beta2, k->a1 = (float)(1.0 - beta1), k->a2 = (float)(1.0 - beta2);
    k->step_size = (float)(lr / bc1), k->bc2s = (float)sqrt(bc2), k->eps = (float)eps;
    return 0;
}

int zoo_adamw_step(zoo_graph *g, double lr, double beta1, double beta2, double eps, double wd, int64_t t)
{
    int rc = zoo_adamw_scalars(g, lr, beta1, beta2, eps, wd, t);
    if (rc)
        return rc;
    rc = zoo_exec_push_step(&g->exec);
    if (!rc)
        rc = g->be->adamw(&g->exec, g->pflat, g->gflat, g->adam_m, g->adam_v, g->tmask, g->pflat_n);
    if (rc)
        zoo_error_prefix("AdamW step %lld on the %s backend: ", (long long)t, g->be->name);
    return rc;
}
