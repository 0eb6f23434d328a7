/* run_backend.c: the backend a run computes on, decided in the process that runs it:
 * `backend: cpu` stays on the CPU, `cuda` must find a usable GPU whose backend has every
 * kernel the model needs (or fails, before anything is allocated), and `auto` takes
 * the GPU on the same terms and otherwise the CPU, saying why. It asks the CUDA driver,
 * so it never runs in a process that forks the runs (a sweep's coordinator). */
#include <stdio.h>
#include <string.h>

#include "zoo/error.h"
#include "zoo/run.h"

static void put(char *buf, size_t n, const char *text)
{
    if (buf && n)
        snprintf(buf, n, "%s", text);
}

/* What stands between `s` and the GPU. */
enum { CUDA_OK = 0, CUDA_NO_DEVICE, CUDA_MODEL_ERROR, CUDA_NO_KERNELS };

/* CUDA_OK when the cuda backend can run `s` here (its device described into dev[nd]);
 * else which obstacle, with the error (its message naming why) in *rc. */
static int cuda_can_run(const zoo_run_spec *s, char *dev, size_t nd, int *rc)
{
    if (!zoo_backend_built(ZOO_BACKEND_CUDA)) {
        *rc = zoo_backend_available(ZOO_BACKEND_CUDA); /* "not built into this zoo: ..." */
        return CUDA_NO_DEVICE;
    }
    if ((*rc = zoo_backend_available(ZOO_BACKEND_CUDA)) || (*rc = zoo_backend_describe(ZOO_BACKEND_CUDA, dev, nd))) {
        zoo_error_prefix("the cuda backend cannot run here: ");
        return CUDA_NO_DEVICE;
    }
    /* Every op of the model, from its graph alone (plugins loaded, nothing allocated). */
    uint32_t mask = 0;
    char why[1024];
    zoo_run_spec probe = *s;
    probe.backend = ZOO_BACKEND_CUDA;
    if ((*rc = zoo_model_backends(&probe, &mask, why, sizeof why)))
        return CUDA_MODEL_ERROR;
    if (!(mask & ZOO_BACKEND_BIT(ZOO_BACKEND_CUDA))) {
        /* why: "cpu: ...; cuda: no kernel for embedding, linear, ..." or "cuda: excluded by the plugin" */
        const char *w = strstr(why, "cuda: ");
        char one[1024];
        snprintf(one, sizeof one, "%s", w ? w + 6 : why);
        char *semi = strchr(one, ';');
        if (semi)
            *semi = 0;
        *rc = ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "the cuda backend cannot run this model: %s", one);
        return CUDA_NO_KERNELS;
    }
    return CUDA_OK;
}

int zoo_run_spec_backend(const zoo_run_spec *s, zoo_backend *used, char *device, size_t nd, char *why, size_t nw)
{
    put(device, nd, "");
    put(why, nw, "");
    if (!s || !used)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_run_spec_backend: no spec or output");
    char dev[256] = "";
    int rc = 0, got;
    switch ((int)s->backend) {
    case ZOO_BACKEND_CPU:
        *used = ZOO_BACKEND_CPU;
        put(device, nd, "cpu");
        return 0;
    case ZOO_BACKEND_CUDA:
        if (cuda_can_run(s, dev, sizeof dev, &rc) != CUDA_OK)
            return rc;
        *used = ZOO_BACKEND_CUDA;
        put(device, nd, dev);
        return 0;
    case ZOO_BACKEND_AUTO:
        got = cuda_can_run(s, dev, sizeof dev, &rc);
        if (got == CUDA_OK) {
            *used = ZOO_BACKEND_CUDA;
            put(device, nd, dev);
            return 0;
        }
        /* The model's own errors (an unknown mixer, a knob its plugin rejects) are the
         * run's, not the GPU's: the CPU would fail on them too. */
        if (got == CUDA_MODEL_ERROR)
            return rc;
        put(why, nw, zoo_error_last()->msg);
        zoo_error_clear();
        *used = ZOO_BACKEND_CPU;
        put(device, nd, "cpu");
        return 0;
    default:
        return ZOO_FAIL(ZOO_ERR_INVALID, "backend=%d: set backend to cpu, cuda or auto", (int)s->backend);
    }
}
