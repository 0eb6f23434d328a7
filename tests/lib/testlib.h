/* testlib.h: shared helpers for zoo's C tests: comparisons with one tolerance table,
 * random fills, finite-difference gradient checks, guard words around planned buffers,
 * dumps that tests/lib/zt.py reads, and running a PyTorch reference script.
 * Not a test framework: each test is a plain main() whose exit status decides. */
#ifndef ZOO_TESTLIB_H
#define ZOO_TESTLIB_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "zoo/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status that ctest reads as "skipped" (register with SKIP_RETURN_CODE 77). */
#define ZT_SKIP 77

/* ---- the one tolerance table ----------------------------------------------------
 * Pass when |got - ref| <= atol + rtol * |ref| for every element. tests/lib/zt.py
 * reads these lines from this header, so C and Python share one table: keep the form
 * `#define ZT_TOL_<KIND>_ATOL <number>`.
 *  EXACT     results that must match bit for bit up to f32 reordering (copies, gathers)
 *  FWD       f32 kernel forward vs a float64 reference on small shapes
 *  BWD       f32 kernel gradients vs a float64 reference (longer reductions)
 *  GRADCHECK analytic f32 gradient vs central differences of f32 forwards
 *  TRAIN     whole-model losses/gradients after several steps vs PyTorch */
#define ZT_TOL_EXACT_ATOL 1e-6
#define ZT_TOL_EXACT_RTOL 1e-6
#define ZT_TOL_FWD_ATOL 1e-5
#define ZT_TOL_FWD_RTOL 1e-4
#define ZT_TOL_BWD_ATOL 5e-5
#define ZT_TOL_BWD_RTOL 5e-4
#define ZT_TOL_GRADCHECK_ATOL 2e-3
#define ZT_TOL_GRADCHECK_RTOL 2e-2
#define ZT_TOL_TRAIN_ATOL 1e-4
#define ZT_TOL_TRAIN_RTOL 1e-3
/* Checks that count failures and go on: ZT_CHECK(cond, fmt, ...) prints
 * "FAIL file:line: message" when cond is false and adds one to zt_fails. */
extern int zt_fails;
#define ZT_CHECK(cond, ...)                                                                                   \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                              \
            fprintf(stderr, __VA_ARGS__);                                                                     \
            fprintf(stderr, "\n");                                                                            \
            zt_fails++;                                                                                       \
        }                                                                                                     \
    } while (0)

/* Finite-difference step for zt_gradcheck on f32 kernels with O(1) values: large enough
 * that f32 rounding of the outputs (~1e-7 relative) stays below 1e-3 after dividing by
 * 2*eps, small enough that the O(eps^2) truncation error is negligible. */
#define ZT_GRADCHECK_EPS 1e-3

typedef struct zt_tolerance {
    double atol, rtol;
} zt_tolerance;
/* Look up a row of the table by kind: "exact", "fwd", "bwd", "gradcheck", "train".
 * An unknown kind prints a message and returns {0, 0} (so every comparison fails). */
zt_tolerance zt_tol(const char *kind);

/* ---- comparisons (each prints what failed to stderr, returns 0 ok / 1 fail) ------ */
/* Every element finite; prints the first bad index and the count. */
int zt_check_finite(const char *what, const float *x, int64_t n);
/* NaN/Inf in got or ref first, then |got-ref| <= atol + rtol*|ref| per element, plus
 * the normalised MSE sum((got-ref)^2)/max(sum(ref^2), tiny) reported on failure.
 * On failure: worst index (by excess over its tolerance), mismatch count, first pairs. */
int zt_compare(const char *what, const float *got, const float *ref, int64_t n, double atol, double rtol);
/* Same with ref in double (references computed in double in C). */
int zt_compare_d(const char *what, const float *got, const double *ref, int64_t n, double atol, double rtol);
/* Integer equality (token ids, counts). */
int zt_compare_i32(const char *what, const int32_t *got, const int32_t *ref, int64_t n);

/* ---- deterministic random fills (counter-based: same values for a seed anywhere) -- */
void zt_fill_normal(float *x, int64_t n, uint64_t seed, float std);            /* N(0, std^2) */
void zt_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi); /* U[lo, hi) */
void zt_fill_int(int32_t *x, int64_t n, uint64_t seed, int32_t lo, int32_t hi); /* [lo, hi) */
/* Fill every trainable parameter of a planned graph with N(0, std^2) (seed mixed with
 * the parameter index), replacing its init: tests want generic, non-degenerate values. */
void zt_fill_params(zoo_graph *g, uint64_t seed, float std);

/* ---- finite differences ---------------------------------------------------------
 * On a planned graph whose inputs are filled: draws R ~ N(0,1) (numel(out), from seed),
 * runs forward and zoo_graph_backward_seeded(g, out, R), then for every trainable
 * parameter checks up to max_checks_per_param elements (spread evenly over the tensor,
 * first and last included) of its gradient against the central difference of
 * L = sum(out * R) accumulated in double: (L(p+h) - L(p-h)) / (p+h - (p-h)) with the
 * step actually representable in f32. Prints each failing element with the parameter's
 * name. eps/atol/rtol <= 0 take ZT_GRADCHECK_EPS and the "gradcheck" row.
 * The graph's training flag and step are left as set, so dropout masks stay fixed.
 * Parameters are restored bit for bit. Returns 0 ok, 1 mismatch, 2 setup failure. */
int zt_gradcheck(zoo_graph *g, zoo_tensor *out, uint64_t seed, int max_checks_per_param, double eps,
                 double atol, double rtol);
/* The R that zt_gradcheck and zt_torchref draw for `seed` (n floats). */
void zt_draw_dout(float *R, int64_t n, uint64_t seed);

/* ---- guard words ---------------------------------------------------------------
 * Planned buffers are padded to 64 bytes. zt_guard_arm writes a NaN-pattern guard in
 * the padding after every activation/input value, saved-scratch (aux) buffer and
 * gradient, and snapshots every leaf (inputs, parameters, buffers). zt_guard_check
 * reports any guard that changed (gradient padding may also read 0: backward zeroes
 * the whole gradient arena before running kernels) and any leaf a kernel modified.
 * Pick odd sizes so padding exists. Arm after filling inputs and parameters.
 * Returns 0 ok, 1 violation, 2 setup failure. */
typedef struct zt_guard zt_guard;
zt_guard *zt_guard_arm(zoo_graph *g);
int zt_guard_check(zt_guard *gd, const char *when);
void zt_guard_free(zt_guard *gd);

/* ---- dumps for Python ------------------------------------------------------------
 * A directory of raw little-endian files plus manifest.json:
 *   {"tensors": [{"name", "file", "dtype": "f32"|"i32", "shape": [...], "role"}],
 *    "attrs": {"key": number, ...}}
 * role is "param" (trainable), "buffer", "input", "out", "dout", "grad" or "other".
 * tests/lib/zt.py load() returns them as numpy arrays by name. */
typedef struct zt_dump zt_dump;
/* Create (mkdir -p) `dir`; NULL dir makes a fresh one under $TMPDIR (or /tmp) whose
 * name starts with zoo-<tag>-. Returns NULL (message printed) on failure. */
zt_dump *zt_dump_open(const char *dir, const char *tag);
const char *zt_dump_dir(const zt_dump *d);
int zt_dump_f32(zt_dump *d, const char *name, const char *role, const float *x, int ndim, const int64_t *shape);
int zt_dump_i32(zt_dump *d, const char *name, const char *role, const int32_t *x, int ndim, const int64_t *shape);
/* A planned tensor's values (f32 or i32 as it holds) with its shape. */
int zt_dump_tensor(zt_dump *d, const char *name, const char *role, zoo_tensor *t);
/* Every parameter and buffer by full name, and each trainable one's gradient as
 * name + ".grad" (role "grad"). */
int zt_dump_params(zt_dump *d, zoo_graph *g);
int zt_dump_attr(zt_dump *d, const char *key, double value);
/* Write manifest.json and free d. remove != 0 deletes the directory instead (after a
 * passing comparison). Returns 0 ok. */
int zt_dump_close(zt_dump *d, int remove);

/* ---- PyTorch references ------------------------------------------------------------ */
/* Runs `/usr/bin/python3 script args`. Returns ZT_SKIP when /usr/bin/python3 or torch is
 * missing, else the script's exit status (scripts exit 0 pass, 1 fail, 77 skip). */
int zt_python(const char *script, const char *args);
/* A fresh directory $TMPDIR/zoo-<tag>-XXXXXX (or under /tmp) into buf. 0 ok. */
int zt_tmpdir(char *buf, size_t n, const char *tag);
/* Remove a directory tree (dumps after a passing comparison). 0 ok. */
int zt_rmtree(const char *dir);
/* The usual op reference: on a planned graph with filled inputs (add each input with
 * zt_dump_tensor(d, name, "input", t) and attrs with zt_dump_attr first), draws R from
 * seed, runs forward and backward_seeded(out, R), dumps every parameter, "out", "dout"
 * and every gradient, closes d and runs `script <dir>`. The directory is removed when
 * the script passes and kept (path printed) when it fails. Returns like zt_python;
 * d is always consumed. script NULL only captures (the directory is kept, 0 ok): put
 * several cases in subdirectories of one zt_tmpdir, then run the script once over
 * that root with zt_python (zt.py's main walks the subdirectories, which saves one
 * torch start per case) and zt_rmtree it when the script passes. */
int zt_torchref(zt_dump *d, zoo_graph *g, zoo_tensor *out, uint64_t seed, const char *script);

/* ---- small conveniences ----------------------------------------------------------- */
/* Like zt_check_finite, 0 ok / 1 fail: prints "FAIL <what>: <graph error>" and
 * returns 1 when the graph's status is set (a builder failed). */
int zt_check_graph(const zoo_graph *g, const char *what);
/* Prints "FAIL <what>: <last zoo error>" and returns 1 when rc != 0. */
int zt_check_rc(int rc, const char *what);

#ifdef __cplusplus
}
#endif
#endif
