/* model_trace.c: see model_trace.h. */
#define _POSIX_C_SOURCE 200809L
#include "model_trace.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "zoo/checkpoint.h"
#include "zoo/data_h5.h"
#include "zoo/task.h"

#define STEPS ZT_TRACE_STEPS
#define LR 1e-3
#define WD 0.1
#define BETA1 0.9
#define BETA2 0.999
#define EPS 1e-8

int zt_spec_set(zoo_run_spec *s, const char *k, const char *v)
{
    if (zoo_run_spec_set(s, k, v)) {
        fprintf(stderr, "FAIL setting %s=%s: %s\n", k, v, zoo_error_last()->msg);
        return 1;
    }
    return 0;
}

int zt_spec_seti(zoo_run_spec *s, const char *k, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return zt_spec_set(s, k, b);
}

/* Generic weights: every trainable value moved by N(0, 0.1^2), so zero biases and unit
 * LayerNorm gains cannot hide a wrong formula. Deterministic (splitmix + Box-Muller). */
static uint64_t sm(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void perturb(zoo_graph *g, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *t = zoo_graph_param(g, i);
        if (!zoo_tensor_is_trainable(t))
            continue;
        float *x = zoo_tensor_data(t); /* x: the parameter's shape */
        for (int64_t j = 0; j < zoo_tensor_numel(t); j++) {
            double u1 = ((sm(&st) >> 11) + 0.5) * 0x1.0p-53, u2 = (sm(&st) >> 11) * 0x1.0p-53;
            x[j] += (float)(0.1 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
        }
    }
}

static int h5_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int nd, const int64_t *shape, const void *x)
{
    hsize_t dims[4];
    for (int i = 0; i < nd; i++)
        dims[i] = (hsize_t)shape[i];
    hid_t sp = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    if (bad)
        fprintf(stderr, "FAIL writing dataset %s\n", name);
    return bad;
}

static int h5_attr(hid_t loc, const char *name, double v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &v) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return bad;
}

int zt_model_trace(zoo_model *m, const zoo_run_spec *spec, const zt_trace_case *c, const char *script)
{
    zoo_graph *g = m->g;
    perturb(g, c->perturb_seed);

    char dir[1024], path[1200];
    if (zt_tmpdir(dir, sizeof dir, c->name)) {
        zoo_model_free(m);
        return 1;
    }
    snprintf(path, sizeof path, "%s/ckpt.h5", dir);
    int rc = zt_check_rc(zoo_checkpoint_save(m, spec, path), "zoo_checkpoint_save");

    zoo_mqar_spec ms = {c->V, c->L, c->K, c->B * c->batches, 0.01, 0, 99};
    zoo_dataset d;
    memset(&d, 0, sizeof d);
    if (!rc)
        rc = zt_check_rc(zoo_mqar_generate(&ms, &d), "zoo_mqar_generate");
    snprintf(path, sizeof path, "%s/data.h5", dir);
    if (!rc)
        rc = zt_check_rc(zoo_data_h5_write(path, &d, &ms), "zoo_data_h5_write");

    /* The steps: forward, backward, AdamW (t = s+1), on batch s mod batches; the last
     * entry is the loss after the final update. */
    double losses[STEPS + 1];
    hid_t f = H5I_INVALID_HID, gg = H5I_INVALID_HID;
    snprintf(path, sizeof path, "%s/ref.h5", dir);
    if (!rc && ((f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
                (gg = H5Gcreate2(f, "grads", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)) {
        fprintf(stderr, "FAIL creating %s\n", path);
        rc = 1;
    }
    for (int s = 0; !rc && s <= STEPS; s++) {
        zoo_graph_set_training(g, 1, (uint64_t)s);
        rc = zt_check_rc(zoo_model_load_batch(m, &d, NULL, (s % c->batches) * c->B, c->B), "load batch") ||
             zt_check_rc(zoo_graph_forward(g), "forward");
        if (rc)
            break;
        losses[s] = zoo_tensor_data(m->loss)[0];
        if (!isfinite(losses[s])) {
            fprintf(stderr, "FAIL step %d: loss is %g\n", s, losses[s]);
            rc = 1;
            break;
        }
        if (s == STEPS)
            break;
        if ((rc = zt_check_rc(zoo_graph_backward(g, m->loss), "backward")))
            break;
        if (s == 0)
            for (int i = 0; i < zoo_graph_nparams(g) && !rc; i++) {
                zoo_tensor *t = zoo_graph_param(g, i);
                if (!zoo_tensor_is_trainable(t))
                    continue;
                int64_t shape[ZOO_MAX_DIMS];
                for (int k = 0; k < zoo_tensor_ndim(t); k++)
                    shape[k] = zoo_tensor_dim(t, k);
                rc = h5_write(gg, zoo_tensor_name(t), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, zoo_tensor_ndim(t), shape,
                              zoo_tensor_grad(t));
            }
        zoo_adamw_step(g, LR, BETA1, BETA2, EPS, WD, s + 1);
    }
    if (!rc) {
        int64_t n = STEPS + 1;
        rc = h5_write(f, "losses", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, losses) || h5_attr(f, "lr", LR) ||
             h5_attr(f, "weight_decay", WD) || h5_attr(f, "beta1", BETA1) || h5_attr(f, "beta2", BETA2) ||
             h5_attr(f, "eps", EPS) || h5_attr(f, "batch", (double)c->B) || h5_attr(f, "batches", (double)c->batches) ||
             h5_attr(f, "steps", STEPS);
    }
    if (gg >= 0)
        H5Gclose(gg);
    if (f >= 0 && H5Fclose(f) < 0)
        rc = 1;
    zoo_dataset_free(&d);
    zoo_model_free(m);
    if (rc) {
        fprintf(stderr, "kept %s\n", dir);
        return 1;
    }
    printf("%s: step-0 loss %.6f, after %d AdamW steps %.6f\n", c->name, losses[0], STEPS, losses[STEPS]);
    fflush(stdout);
    rc = zt_python(script, dir);
    if (rc == 0)
        zt_rmtree(dir);
    else if (rc != ZT_SKIP)
        fprintf(stderr, "FAIL %s: kept %s\n", c->name, dir);
    return rc;
}

