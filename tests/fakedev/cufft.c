/* cufft.c: the cuFFT calls the backend makes, as FFTW's advanced interface with the
 * same layout arguments (n, inembed, istride, idist, ...). Plans must be made with
 * auto-allocation off and be given a work area in device memory before they run, as
 * the backend promises (nothing allocated at run time). Like cuFFT's, a C2R transform
 * leaves its input undefined: the stand-in overwrites it with NaN, so code that reads
 * it afterwards fails here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cufft.h>
#include <fftw3.h>

#include "fakedev.h"

#define MAX_PLANS 4096

typedef struct plan {
    int live, autoalloc, made;
    cufftType type;
    int n, batch, istride, idist, ostride, odist, inembed, onembed;
    size_t work;
    void *area;
    fftwf_plan fp;
    cudaStream_t stream;
} plan;

static plan plans[MAX_PLANS];

static plan *get(cufftHandle h) { return h >= 1 && h < MAX_PLANS && plans[h].live ? &plans[h] : NULL; }

cufftResult cufftCreate(cufftHandle *handle)
{
    for (int i = 1; i < MAX_PLANS; i++)
        if (!plans[i].live) {
            memset(&plans[i], 0, sizeof plans[i]);
            plans[i].live = 1;
            plans[i].autoalloc = 1;
            *handle = i;
            return CUFFT_SUCCESS;
        }
    return CUFFT_ALLOC_FAILED;
}

cufftResult cufftDestroy(cufftHandle h)
{
    plan *p = get(h);
    if (!p)
        return CUFFT_INVALID_PLAN;
    if (p->fp)
        fftwf_destroy_plan(p->fp);
    p->live = 0;
    return CUFFT_SUCCESS;
}

cufftResult cufftSetAutoAllocation(cufftHandle h, int autoAllocate)
{
    plan *p = get(h);
    if (!p)
        return CUFFT_INVALID_PLAN;
    p->autoalloc = autoAllocate;
    return CUFFT_SUCCESS;
}

cufftResult cufftSetStream(cufftHandle h, cudaStream_t stream)
{
    plan *p = get(h);
    if (!p)
        return CUFFT_INVALID_PLAN;
    p->stream = stream;
    return CUFFT_SUCCESS;
}

cufftResult cufftSetWorkArea(cufftHandle h, void *workArea)
{
    plan *p = get(h);
    if (!p)
        return CUFFT_INVALID_PLAN;
    p->area = workArea;
    return CUFFT_SUCCESS;
}

cufftResult cufftMakePlanMany(cufftHandle h, int rank, int *n, int *inembed, int istride, int idist, int *onembed,
                              int ostride, int odist, cufftType type, int batch, size_t *workSize)
{
    plan *p = get(h);
    if (!p || p->made)
        return CUFFT_INVALID_PLAN;
    if (rank != 1 || !n || n[0] < 1 || batch < 1 || (type != CUFFT_R2C && type != CUFFT_C2R))
        return CUFFT_INVALID_VALUE; /* the backend only makes 1-D real transforms */
    p->type = type;
    p->n = n[0];
    p->batch = batch;
    /* NULL embeds mean the packed layout, where cuFFT ignores the strides and distances */
    int half = n[0] / 2 + 1, rn = type == CUFFT_R2C ? n[0] : half, on = type == CUFFT_R2C ? half : n[0];
    p->inembed = inembed ? inembed[0] : rn;
    p->onembed = onembed ? onembed[0] : on;
    p->istride = inembed ? istride : 1;
    p->idist = inembed ? idist : rn;
    p->ostride = onembed ? ostride : 1;
    p->odist = onembed ? odist : on;
    /* a work area the size cuFFT might ask for, so the backend's accounting is used */
    p->work = (size_t)batch * (size_t)half * 2 * sizeof(float);
    if (workSize)
        *workSize = p->work;
    p->made = 1;
    return CUFFT_SUCCESS;
}

cufftResult cufftGetSize(cufftHandle h, size_t *workSize)
{
    plan *p = get(h);
    if (!p || !p->made)
        return CUFFT_INVALID_PLAN;
    *workSize = p->work;
    return CUFFT_SUCCESS;
}

/* Bytes an operand spans: the last batch's last element. */
static size_t span(int count, int stride, int dist, int batch, size_t elem)
{
    return ((size_t)(batch - 1) * (size_t)dist + (size_t)(count - 1) * (size_t)stride + 1) * elem;
}

typedef struct exec_args {
    plan *p;
    cufftType type;
    void *in, *out;
} exec_args;

static void do_exec(const void *arg)
{
    const exec_args *a = arg;
    plan *p = a->p;
    int half = p->n / 2 + 1;
    if (!p->fp) { /* planned on the real buffers, unaligned, without touching them (ESTIMATE) */
        int n = p->n;
        unsigned fl = FFTW_ESTIMATE | FFTW_UNALIGNED;
        p->fp = a->type == CUFFT_R2C
                    ? fftwf_plan_many_dft_r2c(1, &n, p->batch, a->in, &p->inembed, p->istride, p->idist, a->out,
                                              &p->onembed, p->ostride, p->odist, fl)
                    : fftwf_plan_many_dft_c2r(1, &n, p->batch, a->in, &p->inembed, p->istride, p->idist, a->out,
                                              &p->onembed, p->ostride, p->odist, fl);
    }
    if (a->type == CUFFT_R2C) {
        fftwf_execute_dft_r2c(p->fp, a->in, a->out);
        return;
    }
    fftwf_execute_dft_c2r(p->fp, a->in, a->out);
    float *c = a->in; /* cuFFT may overwrite a C2R input */
    for (int b = 0; b < p->batch; b++)
        for (int i = 0; i < half; i++) {
            c[2 * ((size_t)b * p->idist + (size_t)i * p->istride)] = NAN;
            c[2 * ((size_t)b * p->idist + (size_t)i * p->istride) + 1] = NAN;
        }
}

static cufftResult exec(cufftHandle h, cufftType type, void *in, void *out)
{
    plan *p = get(h);
    if (!p || !p->made || p->type != type)
        return CUFFT_INVALID_PLAN;
    int half = p->n / 2 + 1;
    int ic = type == CUFFT_R2C ? p->n : half, oc = type == CUFFT_R2C ? half : p->n;
    size_t ie = type == CUFFT_R2C ? sizeof(float) : sizeof(cufftComplex), oe = type == CUFFT_R2C ? sizeof(cufftComplex) : sizeof(float);
    size_t ib = span(ic, p->istride, p->idist, p->batch, ie), ob = span(oc, p->ostride, p->odist, p->batch, oe);
    if (!zoo_fakedev_is_device(in, ib) || !zoo_fakedev_is_device(out, ob)) {
        zoo_fakedev_fail(cudaErrorInvalidValue, "cufftExec: input (%zu bytes) or output (%zu bytes) not in device memory",
                         ib, ob);
        return CUFFT_INVALID_VALUE;
    }
    if (!p->autoalloc && (!p->area || !zoo_fakedev_is_device(p->area, p->work))) {
        zoo_fakedev_fail(cudaErrorInvalidValue, "cufftExec: no device work area of %zu bytes set", p->work);
        return CUFFT_INVALID_VALUE;
    }
    exec_args a = {p, type, in, out};
    return zoo_fakedev_submit(p->stream, do_exec, &a, sizeof a) == cudaSuccess ? CUFFT_SUCCESS : CUFFT_EXEC_FAILED;
}

cufftResult cufftExecR2C(cufftHandle plan_, cufftReal *idata, cufftComplex *odata)
{
    return exec(plan_, CUFFT_R2C, idata, odata);
}

cufftResult cufftExecC2R(cufftHandle plan_, cufftComplex *idata, cufftReal *odata)
{
    return exec(plan_, CUFFT_C2R, idata, odata);
}
