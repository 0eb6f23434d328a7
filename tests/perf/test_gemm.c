/* test_gemm.c (perf.gemm): zoo_gemm / zoo_gemm_ws against a double reference on shapes that take
 * each path (one call, tiles of C, k split), bit-identical on 1, 2 and 3 threads and
 * when called inside a parallel region; then a linear layer whose input feeds two
 * consumers, with rows large enough for the k split of dW, checked against double
 * sums and across thread counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "gemm.h"
#include "testlib.h"
#include "zoo/graph.h"

typedef struct gcase {
    const char *label;
    int ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    int use_ws;
} gcase;

/* C = alpha op(A) op(B) + beta C0 in double, and the bound sum |alpha a b| + |beta c0|. */
static void ref_gemm(const gcase *c, const float *A, const float *B, const float *C0, double *R, double *bound)
{
    int64_t lda = c->ta ? c->m : c->k, ldb = c->tb ? c->k : c->n;
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < c->n; j++) {
            double s = 0, b = 0;
            for (int64_t l = 0; l < c->k; l++) {
                double a = c->ta ? A[l * lda + i] : A[i * lda + l];
                double bb = c->tb ? B[j * ldb + l] : B[l * ldb + j];
                s += a * bb;
                b += fabs(a * bb);
            }
            R[i * c->n + j] = c->alpha * s + c->beta * (double)C0[i * c->n + j];
            bound[i * c->n + j] = fabs(c->alpha) * b + fabs(c->beta * (double)C0[i * c->n + j]);
        }
}

static void run_gemm(const gcase *c, const float *A, const float *B, float *C, float *ws)
{
    int64_t lda = c->ta ? c->m : c->k, ldb = c->tb ? c->k : c->n;
    zoo_gemm_ws(c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans, c->m, c->n, c->k, c->alpha, A,
                lda, B, ldb, c->beta, C, c->n, c->use_ws ? ws : NULL);
}

static int check_case(const gcase *c, uint64_t seed)
{
    int64_t na = c->m * c->k, nb = c->k * c->n, nc = c->m * c->n;
    int64_t nws = c->use_ws ? zoo_gemm_ws_floats(c->m, c->n, c->k) : 0;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C0 = malloc(nc * sizeof *C0);
    float *C[4], *ws = malloc((nws ? nws : 1) * sizeof *ws);
    double *R = malloc(nc * sizeof *R), *bound = malloc(nc * sizeof *bound);
    zt_fill_normal(A, na, seed, 1.0f);
    zt_fill_normal(B, nb, seed + 1, 1.0f);
    zt_fill_normal(C0, nc, seed + 2, 1.0f);
    ref_gemm(c, A, B, C0, R, bound);
    int bad = 0;
    for (int v = 0; v < 4; v++) {
        C[v] = malloc(nc * sizeof *C[v]);
        memcpy(C[v], C0, nc * sizeof *C0);
        /* ws garbage must not matter */
        for (int64_t i = 0; i < nws; i++)
            ws[i] = NAN;
        if (v < 3) {
            zoo_set_threads(v + 1);
            run_gemm(c, A, B, C[v], ws);
        } else {
            /* called from inside a parallel region: tiles run in order on this thread */
            zoo_set_threads(2);
#pragma omp parallel num_threads(2)
            {
#pragma omp single
                run_gemm(c, A, B, C[v], ws);
            }
        }
    }
    zoo_set_threads(2);
    /* f32 sums of k products: error well under 1e-5 of the sum of magnitudes */
    int64_t worst = 0, nbad = 0;
    double wx = 0;
    for (int64_t i = 0; i < nc; i++) {
        double e = fabs((double)C[0][i] - R[i]), tol = 1e-5 * bound[i] + 1e-6;
        if (e > tol || !isfinite(C[0][i])) {
            nbad++;
            if (!(e / tol <= wx)) {
                wx = e / tol;
                worst = i;
            }
        }
    }
    if (nbad) {
        fprintf(stderr, "gemm %s: %lld of %lld elements off the double reference; worst [%lld] = %.9g vs %.9g\n",
                c->label, (long long)nbad, (long long)nc, (long long)worst, C[0][worst], R[worst]);
        bad = 1;
    }
    const char *what[4] = {"1 thread", "2 threads", "3 threads", "inside a parallel region"};
    for (int v = 1; v < 4; v++)
        if (memcmp(C[0], C[v], nc * sizeof *C0)) {
            char msg[256];
            snprintf(msg, sizeof msg, "gemm %s: %s vs 1 thread (must be the same bits)", c->label, what[v]);
            zt_compare(msg, C[v], C[0], nc, 0, 0);
            bad = 1;
        }
    for (int v = 0; v < 4; v++)
        free(C[v]);
    free(A);
    free(B);
    free(C0);
    free(ws);
    free(R);
    free(bound);
    return bad;
}

/* y1 = x W1^T + b1, y2 = x W2^T (x feeds both: one backward writes dx whole, the other
 * adds), rows = 4099 so dW's k is split; checked against double sums. */
static int check_linear(void)
{
    const int64_t R = 4099, IN = 40, O1 = 48, O2 = 24;
    float *res[2] = {NULL, NULL};
    int64_t nres = 0;
    int bad = 0;
    for (int v = 0; v < 2 && !bad; v++) {
        zoo_set_threads(v + 1);
        zoo_graph *g = zoo_graph_new(ZOO_BACKEND_CPU);
        zoo_tensor *W0 = zoo_param(g, "w0", 2, (int64_t[]){R, IN}, zoo_init_zeros()); /* x as a parameter */
        zoo_tensor *W1 = zoo_param(g, "w1", 2, (int64_t[]){O1, IN}, zoo_init_zeros());
        zoo_tensor *B1 = zoo_param(g, "b1", 1, (int64_t[]){O1}, zoo_init_zeros());
        zoo_tensor *W2 = zoo_param(g, "w2", 2, (int64_t[]){O2, IN}, zoo_init_zeros());
        zoo_tensor *X = zoo_scale(g, W0, 1.0f); /* an activation: its gradient is in the arena */
        zoo_tensor *y1 = zoo_linear(g, X, W1, B1), *y2 = zoo_linear(g, X, W2, NULL);
        zoo_tensor *cat = zoo_concat(g, (zoo_tensor *[]){y1, y2}, 2);
        if (zt_check_graph(g, "linear graph") || zt_check_rc(zoo_graph_plan(g, 1), "plan")) {
            zoo_graph_free(g);
            return 1;
        }
        zt_fill_params(g, 7, 1.0f);
        int64_t no = zoo_tensor_numel(cat), pn = 0;
        float *dout = malloc(no * sizeof *dout);
        zt_draw_dout(dout, no, 11);
        bad |= zt_check_rc(zoo_graph_forward(g), "forward") ||
               zt_check_rc(zoo_graph_backward_seeded(g, cat, dout), "backward");
        float *gr = zoo_graph_grads_flat(g, &pn);
        if (!bad && v == 0) {
            /* references in double from the parameters */
            const float *x = zoo_tensor_data(W0), *w1 = zoo_tensor_data(W1), *w2 = zoo_tensor_data(W2);
            double *dx = calloc(R * IN, sizeof *dx), *dw1 = calloc(O1 * IN, sizeof *dw1);
            double *db1 = calloc(O1, sizeof *db1), *dw2 = calloc(O2 * IN, sizeof *dw2);
            for (int64_t r = 0; r < R; r++) {
                const float *d = dout + r * (O1 + O2);
                for (int64_t o = 0; o < O1; o++) {
                    db1[o] += d[o];
                    for (int64_t i = 0; i < IN; i++) {
                        dx[r * IN + i] += (double)d[o] * w1[o * IN + i];
                        dw1[o * IN + i] += (double)d[o] * x[r * IN + i];
                    }
                }
                for (int64_t o = 0; o < O2; o++)
                    for (int64_t i = 0; i < IN; i++) {
                        dx[r * IN + i] += (double)d[O1 + o] * w2[o * IN + i];
                        dw2[o * IN + i] += (double)d[O1 + o] * x[r * IN + i];
                    }
            }
            /* dW sums 4099 products of N(0,1) values: ~64 in size; f32 error ~1e-4 */
            bad |= zt_compare_d("linear dx", zoo_tensor_grad(W0), dx, R * IN, 1e-4, 1e-4);
            bad |= zt_compare_d("linear dW1 (k split)", zoo_tensor_grad(W1), dw1, O1 * IN, 2e-3, 1e-4);
            bad |= zt_compare_d("linear db1", zoo_tensor_grad(B1), db1, O1, 2e-3, 1e-4);
            bad |= zt_compare_d("linear dW2 (k split)", zoo_tensor_grad(W2), dw2, O2 * IN, 2e-3, 1e-4);
            free(dx);
            free(dw1);
            free(db1);
            free(dw2);
        }
        nres = pn;
        res[v] = malloc(pn * sizeof(float));
        memcpy(res[v], gr, pn * sizeof(float));
        free(dout);
        zoo_graph_free(g);
    }
    zoo_set_threads(2);
    if (!bad && memcmp(res[0], res[1], nres * sizeof(float))) {
        zt_compare("linear gradients: 2 threads vs 1 (must be the same bits)", res[1], res[0], nres, 0, 0);
        bad = 1;
    }
    free(res[0]);
    free(res[1]);
    return bad;
}

int main(void)
{
    const gcase cases[] = {
        {"small NN (one call)", 0, 0, 7, 5, 3, 1.0f, 0.0f, 1},
        {"NT tiles of C", 0, 1, 1031, 333, 67, 1.0f, 0.0f, 1},
        {"NN tiles of C, beta 1", 0, 0, 517, 271, 129, 0.5f, 1.0f, 1},
        {"TN k split (dW shape)", 1, 0, 97, 45, 5003, 1.0f, 1.0f, 1},
        {"NN k split (head dHs shape)", 0, 0, 61, 33, 8191, 1.0f, 0.0f, 1},
        {"TT k split, alpha 0.25", 1, 1, 40, 70, 3001, 0.25f, 1.0f, 1},
        {"TN long k without workspace (tiles)", 1, 0, 97, 45, 5003, 1.0f, 1.0f, 0},
        {"TN tiles of C", 1, 0, 700, 260, 300, 1.0f, 0.0f, 1},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        bad |= check_case(&cases[i], 100 + i);
    /* the k split must actually be planned for the shapes that claim it */
    if (zoo_gemm_ws_floats(97, 45, 5003) <= 0 || zoo_gemm_ws_floats(61, 33, 8191) <= 0 ||
        zoo_gemm_ws_floats(7, 5, 3) != 0) {
        fprintf(stderr, "gemm: workspace sizes %lld, %lld, %lld: the k split is not planned as expected\n",
                (long long)zoo_gemm_ws_floats(97, 45, 5003), (long long)zoo_gemm_ws_floats(61, 33, 8191),
                (long long)zoo_gemm_ws_floats(7, 5, 3));
        bad = 1;
    }
    bad |= check_linear();
    if (!bad)
        printf("gemm: all cases match the double reference and are the same bits on 1, 2, 3 threads\n");
    return bad;
}
