/* fill.cu: every element the constant in fp[0] (ops/fill.c); no inputs, so the
 * backward has nothing to do. One thread per element. */
#include "common.cuh"

ZOO_CUDA_OP_FNS(fill)

ZOO_KERNEL fill_fwd(float *y, float c, int64_t n)
{
    int64_t i = ZOO_GID;
    if (i < n)
        y[i] = c;
}

extern "C" int zoo_cuda_fill_forward(zoo_exec *x, zoo_tensor *t)
{
    ZOO_CU(ZOO_LAUNCH(fill_fwd, t->n, zoo_cuda_of(x)->stream, t->data, t->fp[0], t->n));
    return 0;
}

extern "C" int zoo_cuda_fill_backward(zoo_exec *x, zoo_tensor *t)
{
    (void)x, (void)t;
    return 0;
}
