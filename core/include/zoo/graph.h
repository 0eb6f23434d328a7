/* zoo/graph.h: tensors, the computation graph and the differentiable op builders.
 * A graph is built once per run, planned once (all memory allocated), then executed
 * every step without allocation. Builders only record nodes and check shapes. */
#ifndef ZOO_GRAPH_H
#define ZOO_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "zoo/error.h"
#include "zoo/api.h"

#ifdef __cplusplus
extern "C" {
#endif
ZOO_API_BEGIN

#define ZOO_MAX_DIMS 4

typedef struct zoo_graph zoo_graph;
typedef struct zoo_tensor zoo_tensor;
typedef struct zoo_rng zoo_rng;

/* ZOO_BACKEND_AUTO is a run spec's `backend: auto` (the GPU when the CUDA backend can run
 * the model here, else the CPU), never a graph's: zoo_run_spec_backend (zoo/run.h)
 * resolves it in the process that runs the run. */
typedef enum zoo_backend {
    ZOO_BACKEND_AUTO = -1,
    ZOO_BACKEND_CPU = 0,
    ZOO_BACKEND_CUDA = 1,
    ZOO_BACKEND_COUNT
} zoo_backend;
typedef enum zoo_dtype { ZOO_F32 = 0, ZOO_I32 = 1 } zoo_dtype;

/* ---- parameter initialisation ------------------------------------------------ */
typedef enum zoo_init_kind {
    ZOO_INIT_ZEROS = 0,
    ZOO_INIT_CONST,   /* every element = a */
    ZOO_INIT_NORMAL,  /* N(a, b^2): mean a, std b */
    ZOO_INIT_UNIFORM, /* U(a, b) */
    ZOO_INIT_FN,      /* fill(x, n, shape, ndim, rng, ctx) */
} zoo_init_kind;

typedef void (*zoo_init_fill_fn)(float *x, int64_t n, const int64_t *shape, int ndim,
                                 zoo_rng *rng, const void *ctx);

typedef struct zoo_init {
    zoo_init_kind kind;
    float a, b;
    zoo_init_fill_fn fill; /* ZOO_INIT_FN only */
    const void *ctx;       /* passed to fill; must outlive zoo_graph_plan */
} zoo_init;

static inline zoo_init zoo_init_zeros(void) { zoo_init i = {ZOO_INIT_ZEROS, 0, 0, 0, 0}; return i; }
static inline zoo_init zoo_init_const(float v) { zoo_init i = {ZOO_INIT_CONST, v, 0, 0, 0}; return i; }
static inline zoo_init zoo_init_normal(float mean, float std) { zoo_init i = {ZOO_INIT_NORMAL, mean, std, 0, 0}; return i; }
static inline zoo_init zoo_init_uniform(float lo, float hi) { zoo_init i = {ZOO_INIT_UNIFORM, lo, hi, 0, 0}; return i; }
static inline zoo_init zoo_init_fn(zoo_init_fill_fn f, const void *ctx) { zoo_init i = {ZOO_INIT_FN, 0, 0, f, ctx}; return i; }

/* Deterministic counter-based random numbers (same numbers whatever the thread count). */
double zoo_rng_uniform(zoo_rng *r);  /* [0, 1) */
double zoo_rng_normal(zoo_rng *r);   /* N(0, 1) */

/* ---- graph lifetime ------------------------------------------------------------ */
/* A new empty graph for `backend`. NULL only when out of memory. */
zoo_graph *zoo_graph_new(zoo_backend backend);
/* Frees the graph, its nodes and all planned memory. Accepts NULL and half-built graphs. */
void zoo_graph_free(zoo_graph *g);

/* Sticky status: 0, or the code of the first failing builder call (its message is in
 * zoo_error_last() of the building thread and in zoo_graph_error()). Builders given a
 * NULL input or called on a failed graph return NULL without touching the graph. */
int zoo_graph_status(const zoo_graph *g);
const char *zoo_graph_error(const zoo_graph *g);
/* Record a failure on the graph (first one wins); returns `code`. For plugins that
 * reject their knobs: return zoo_graph_fail(g, ZOO_ERR_INVALID, "feature_dim must be >= 1"). */
int zoo_graph_fail(zoo_graph *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parameter names get this prefix ("backbone.layers.0.sequence_mixer."). Copied. */
void zoo_graph_set_prefix(zoo_graph *g, const char *prefix);

/* ---- leaves -------------------------------------------------------------------- */
/* Inputs are filled by the caller after planning (zoo_tensor_set). */
zoo_tensor *zoo_input(zoo_graph *g, const char *name, zoo_dtype dtype, int ndim, const int64_t *shape);
/* A trainable parameter, named prefix+name, shaped like its PyTorch counterpart. */
zoo_tensor *zoo_param(zoo_graph *g, const char *name, int ndim, const int64_t *shape, zoo_init init);
/* A fixed buffer (saved in checkpoints, never trained, no weight decay, no gradient). */
zoo_tensor *zoo_buffer(zoo_graph *g, const char *name, int ndim, const int64_t *shape, zoo_init init);
/* A second state_dict name for the values of an existing parameter or buffer: PyTorch
 * lists a module shared at several places once per place (Hyena's one Sin frequency at
 * every odd index of its filter MLP), so a checkpoint holds the trained values under
 * every name. Never trained itself (no gradient, no decay); shares src's storage. */
zoo_tensor *zoo_alias(zoo_graph *g, const char *name, zoo_tensor *src);
/* A term of the training objective besides the loss (a mixer's auxiliary loss, e.g.
 * sparse_attention's selection penalty): t is one element, depends on a parameter, and
 * no other node reads it (checked when planning). zoo_graph_backward (and so every
 * training step) backpropagates loss + every such term, each seeded with gradient 1;
 * zoo_graph_backward_seeded and the loss's own value (what the trainer logs and
 * evaluates) leave them out. 0, or the graph's error. zoo_graph_loss_term lists them in
 * creation order (NULL past the last). */
int zoo_graph_add_loss(zoo_graph *g, zoo_tensor *t);
zoo_tensor *zoo_graph_loss_term(const zoo_graph *g, int i);
/* Look up an existing parameter or buffer by full name (e.g. the tied embedding). */
zoo_tensor *zoo_graph_find_param(const zoo_graph *g, const char *full_name);

/* ---- op builders: all activations are f32, row-major, last dim fastest ------------ */
/* Shapes: "(..., D)" means any leading dims. b broadcasts over leading dims of a
 * (b's shape must equal a trailing part of a's shape). */
zoo_tensor *zoo_add(zoo_graph *g, zoo_tensor *a, zoo_tensor *b);
zoo_tensor *zoo_scale(zoo_graph *g, zoo_tensor *x, float c);
/* y = x W^T + b. x: (..., in), W: (out, in) as PyTorch stores it, b: (out) or NULL. */
zoo_tensor *zoo_linear(zoo_graph *g, zoo_tensor *x, zoo_tensor *W, zoo_tensor *b);
/* y = x[..., start:start+len]: a copy of part of the last dim (e.g. q, k, v out of one
 * fused Wqkv projection). x: (..., N) -> (..., len); 0 <= start, start + len <= N. */
zoo_tensor *zoo_slice(zoo_graph *g, zoo_tensor *x, int64_t start, int64_t len);
/* LayerNorm over the last dim with affine w, b: (D). */
zoo_tensor *zoo_layernorm(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, zoo_tensor *b, float eps);
/* Exact (erf) GELU. */
zoo_tensor *zoo_gelu(zoo_graph *g, zoo_tensor *x);
/* Inverted dropout with probability p, active only in training mode; seeded per step. */
zoo_tensor *zoo_dropout(zoo_graph *g, zoo_tensor *x, float p);
/* Gather rows of E: tokens (B, L) int32, E (V, D) -> (B, L, D). */
zoo_tensor *zoo_embedding(zoo_graph *g, zoo_tensor *tokens, zoo_tensor *E);
/* Causal softmax attention. q, k, v: (B, L, H*dh), heads contiguous in the last dim.
 * S = q k^T * scale + M, M = -10000 where s > t (or s < t - window when window >= 0,
 * so a query sees window+1 keys); softmax over s; dropout p on the probabilities in
 * training; out (B, L, H*dh). */
zoo_tensor *zoo_attention(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v,
                          int heads, int window, float scale, float dropout);
/* Tied-head cross entropy at supervised positions only.
 * h: (B, L, D) final hidden states; E: (V, D) the word embedding (the tied head);
 * pos: (M) int32 flat row indices b*L+t; labels: (M) int32 targets, -100 = ignore.
 * Returns the scalar (1) mean CE over entries whose label != -100. Because only the
 * supervised rows reach the head, this costs M*V*D instead of B*L*V*D flops and gives
 * exactly the loss and gradients of the full head with ignore_index=-100.
 * Callers put valid entries first; trailing -100 entries are skipped entirely. */
zoo_tensor *zoo_ce_head(zoo_graph *g, zoo_tensor *h, zoo_tensor *E, zoo_tensor *pos, zoo_tensor *labels);
/* After forward: valid entries counted and how many argmax(logits) == label. */
int zoo_ce_head_stats(const zoo_tensor *ce, int64_t *n_valid, int64_t *n_correct);
/* After forward: *m (valid-prefix entries) and *V; when dst is not NULL, copies the
 * logits of the first min(m, cap_rows) entries into it, (m, V) row-major. */
int zoo_ce_head_logits(const zoo_tensor *ce, float *dst, int64_t cap_rows, int64_t *m, int64_t *V);

/* ---- mixer ops: elementwise, shape, convolutions, SSM kernels, linear attention ---- */
/* y = a * b elementwise; b has a's shape or a trailing part of it (broadcast over the
 * leading dims of a, as in zoo_add), and ones at b's end broadcast over a's dims there:
 * a (n, d) times b (n, 1) scales row i by b[i]. */
zoo_tensor *zoo_mul(zoo_graph *g, zoo_tensor *a, zoo_tensor *b);
/* Elementwise maps, any shape. softplus(x) = log(1 + e^x), and x where x > 20 (PyTorch's
 * threshold); silu(x) = x * sigmoid(x). */
zoo_tensor *zoo_sin(zoo_graph *g, zoo_tensor *x);
zoo_tensor *zoo_exp(zoo_graph *g, zoo_tensor *x);
zoo_tensor *zoo_relu(zoo_graph *g, zoo_tensor *x);
zoo_tensor *zoo_silu(zoo_graph *g, zoo_tensor *x);
zoo_tensor *zoo_sigmoid(zoo_graph *g, zoo_tensor *x);
zoo_tensor *zoo_softplus(zoo_graph *g, zoo_tensor *x);
/* A tensor of `shape` (ndim dims) with every element c: a constant the graph makes each
 * forward, not a parameter or buffer (not in the state dict, never trained). */
zoo_tensor *zoo_fill(zoo_graph *g, int ndim, const int64_t *shape, float c);
/* Concatenate xs[0..n) along the last dim; every other dim must agree. n >= 1. */
zoo_tensor *zoo_concat(zoo_graph *g, zoo_tensor *const *xs, int n);
/* Swap the last two dims: (..., R, C) -> (..., C, R). A copy. */
zoo_tensor *zoo_transpose(zoo_graph *g, zoo_tensor *x);
/* The same elements (row-major) under `shape` (ndim dims, same element count). A copy. */
zoo_tensor *zoo_reshape(zoo_graph *g, zoo_tensor *x, int ndim, const int64_t *shape);

/* Causal long convolution per channel (docs/mixers.md, shared building blocks):
 *   y[b,t,c] = sum_{s<=t} k[c/r, s] * u[b,t-s,c]  (+ skip[c/r] * u[b,t,c] when skip != NULL)
 * u: (B, L, D), channel last; k: (G, L) with D % G == 0 and r = D/G (G = D: one filter per
 * channel, PyTorch's (D, L) layout; G < D: groups of r adjacent channels share a filter,
 * as H3's per-head kernel); skip: (G) or NULL. Computed with FFTW (pad to 2L, keep the
 * first L; plans made once per length) or directly in O(L^2) when L is short. */
typedef enum zoo_conv_path { ZOO_CONV_AUTO = 0, ZOO_CONV_FFT = 1, ZOO_CONV_DIRECT = 2 } zoo_conv_path;
zoo_tensor *zoo_fftconv(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip);
/* The same with the path forced (tests, benchmarks). AUTO picks direct when L <=
 * zoo_fftconv_crossover() (the CPU's threshold; the CUDA backend has its own, for now
 * the same); the environment variable ZOO_FFTCONV=fft|direct overrides AUTO. */
zoo_tensor *zoo_fftconv_path(zoo_graph *g, zoo_tensor *u, zoo_tensor *k, zoo_tensor *skip, zoo_conv_path path);
int64_t zoo_fftconv_crossover(void);

/* Depthwise causal short convolution with bias (PyTorch Conv1d(groups=C, padding=k-1),
 * first L outputs): y[b,t,c] = bias[c] + sum_j w[c,0,j] * x[b, t-(k-1)+j, c], zero for
 * negative times, so w[c,0,k-1] multiplies the current token (cross-correlation order).
 * x: (B, L, C); w: (C, 1, k); bias: (C) or NULL. */
zoo_tensor *zoo_shortconv(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, zoo_tensor *bias);

/* Causal linear attention with a feature map phi (docs/mixers.md, based):
 *   y_t = sum_{s<=t} (phi(q_t).phi(k_s)) v_s / (sum_{s<=t} phi(q_t).phi(k_s) + eps)
 * q, k: (B, L, H*f); v: (B, L, H*dv); heads contiguous in the last dim; out (B, L, H*dv).
 * TAYLOR: phi(x) = [1, x/f^(1/4), vec(x x^T)/(sqrt2 sqrt f)] (1+f+f^2 features);
 * IDENTITY: x; ELU1: elu(x)+1; RELU: max(relu(x), 1e-12). quadratic = 0 uses prefix sums
 * of phi(k) v^T and phi(k) (the "linear" train view), 1 the masked L x L form; both give
 * the same numbers up to rounding. */
typedef enum zoo_feature_map {
    ZOO_FMAP_TAYLOR = 0,
    ZOO_FMAP_IDENTITY,
    ZOO_FMAP_ELU1,
    ZOO_FMAP_RELU,
} zoo_feature_map;
/* "taylor_exp" | "taylor", "none" | "identity", "pos_elu" | "elu", "relu". 0 or ZOO_ERR_INVALID. */
int zoo_feature_map_parse(const char *name, zoo_feature_map *out);
const char *zoo_feature_map_name(zoo_feature_map fm);
/* Features per head: 1 + f + f^2 for TAYLOR, f otherwise. */
int64_t zoo_feature_map_dim(zoo_feature_map fm, int64_t f);
zoo_tensor *zoo_linear_attention(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v,
                                 zoo_feature_map fm, int heads, float eps, int quadratic);

/* RWKV v4's WKV recurrence (docs/mixers.md, rwkv), per batch row and channel c:
 *   y_t = (sum_{i<t} e^{(t-1-i) w_c + k_i} v_i + e^{u_c + k_t} v_t)
 *       / (sum_{i<t} e^{(t-1-i) w_c + k_i}     + e^{u_c + k_t})
 * w: (C) log decay (Zoology passes -exp(time_decay)); u: (C) ("time_first");
 * k, v: (B, T, C); out (B, T, C). Stable for any inputs (running max, as the RWKV kernel);
 * f32 out (Zoology rounds it to bf16: not done here). */
zoo_tensor *zoo_wkv(zoo_graph *g, zoo_tensor *w, zoo_tensor *u, zoo_tensor *k, zoo_tensor *v);
/* H3's shift-SSM kernel (docs/mixers.md, h3): K[h,j] = sum_n B[h,n] * C[h,n+j] for
 * j < min(N, L), 0 beyond. B: (H, N); C: (1, H, N) or (H, N). Out: (H, L). */
zoo_tensor *zoo_ssm_shift_kernel(zoo_graph *g, zoo_tensor *B, zoo_tensor *C, int64_t L);
/* H3's S4D-Lin diagonal SSM kernel, bilinear discretisation (docs/mixers.md, h3), with
 * complex values stored as (real, imag) pairs in the last axis:
 *   dt = exp(log_dt[h]); A = -exp(inv_A_real) + i A_imag; dA = (1 + dt A/2)/(1 - dt A/2);
 *   C' = C B dt/(1 - dt A/2); K[h,t] = 2 Re sum_n C'[h,n] dA[h,n]^t.
 * C: (1, H, N2, 2); log_dt: (H); B: (H, N2, 2); inv_A_real, A_imag: (H, N2). Out: (H, L). */
zoo_tensor *zoo_ssm_diag_kernel(zoo_graph *g, zoo_tensor *C, zoo_tensor *log_dt, zoo_tensor *B,
                                zoo_tensor *inv_A_real, zoo_tensor *A_imag, int64_t L);
/* Per-head outer product (H3's kv): k, v: (..., H*hd) ->
 * y[..., h*hd*hd + i*hd + j] = k[..., h*hd+i] * v[..., h*hd+j], shape (..., H*hd*hd). */
zoo_tensor *zoo_head_outer(zoo_graph *g, zoo_tensor *k, zoo_tensor *v, int heads);
/* Per-head contraction (H3's output): q: (..., H*hd), y: (..., H*hd*hd) ->
 * o[..., j*H + h] = sum_i q[..., h*hd+i] * y[..., h*hd*hd + i*hd + j], shape (..., hd*H):
 * channels come out in (j, h) order, as H3 feeds them to its output Linear. */
zoo_tensor *zoo_head_contract(zoo_graph *g, zoo_tensor *q, zoo_tensor *y, int heads);

/* ---- sequence selection ops (docs/mixers.md, sparse_attention) --------------------- */
/* Softmax over the sequence (dim 1) of x: (B, L, C), one distribution per (batch row,
 * channel): y[b,t,c] = exp(x[b,t,c]) / sum_s exp(x[b,s,c]) (max-subtracted). Each output
 * depends on every position of its row, later ones included: not causal. */
zoo_tensor *zoo_softmax_seq(zoo_graph *g, zoo_tensor *x);
/* The evaluation-time top-k mask along the sequence (dim 1) of x: (B, L, C). In eval mode
 * (zoo_graph_set_training(g, 0, ...)) each (batch row, channel) keeps its k largest
 * entries, ties going to the lower position, and the rest become 0; in training mode it
 * is the identity, as is any k >= L. The gradient is passed where an entry was kept.
 * k >= 1. Not causal in eval mode. */
zoo_tensor *zoo_topk_seq(zoo_graph *g, zoo_tensor *x, int64_t k);

/* ---- Mamba ops (docs/model.md, Mamba block; docs/mixers.md, mamba) -------------- */
/* RMSNorm over the last dim with weight w: (D), or NULL for none (w = 1), no bias:
 * y = x / sqrt(mean(x^2) + eps) * w (the norm of the Mamba blocks, eps 1e-5). */
zoo_tensor *zoo_rmsnorm(zoo_graph *g, zoo_tensor *x, zoo_tensor *w, float eps);
/* Mamba's selective scan without the D skip, per batch row and channel c, state in R^N:
 *   h_t = exp(delta_t A[c,:]) * h_{t-1} + delta_t B_t x_t (h_{-1} = 0),  y_t = C_t . h_t
 * x, delta: (B, L, Di); A: (Di, N) (already negative: -exp(A_log)); BC: (B, L, 2N) with
 * B_t = BC[..., :N], C_t = BC[..., N:]. Out (B, L, Di). Add D x with zoo_mul + zoo_add. */
zoo_tensor *zoo_selective_scan(zoo_graph *g, zoo_tensor *x, zoo_tensor *delta, zoo_tensor *A, zoo_tensor *BC);

/* ---- linear recurrences with a matrix state (docs/mixers.md, recurrence) ---------- */
/* The state update shared by GLA, Mamba-2, DeltaNet, Gated DeltaNet and RWKV-7. Per batch
 * row and head, state S in R^{dk x dv}, S_0 = 0:
 *   S_t = diag(w_t) S_{t-1} + a_t (b_t^T S_{t-1}) + k_t v_t^T,    o_t = S_t^T q_t
 * q, k: (B, L, H*dk); v: (B, L, H*dv); heads contiguous in the last dim (as zoo_attention);
 * w: (B, L, H*dk) a decay per key channel, (B, L, H) one per head, or NULL (no decay, 1);
 * a, b: (B, L, H*dk), both or neither (NULL: no rank-one term; the delta rule passes
 * a = -beta k, b = k; any input may be the same tensor as another). No scaling of q is
 * applied. Out (B, L, H*dv). Training keeps the state every 64 steps until the backward,
 * B*H*ceil(L/64)*dk*dv floats, and recomputes the states in between. */
zoo_tensor *zoo_recurrence(zoo_graph *g, zoo_tensor *q, zoo_tensor *k, zoo_tensor *v, zoo_tensor *w,
                           zoo_tensor *a, zoo_tensor *b, int heads);

/* ---- backends ------------------------------------------------------------------- */
/* "cpu" | "cuda". */
const char *zoo_backend_name(zoo_backend b);
/* 1 when this build contains backend b's code. */
int zoo_backend_built(zoo_backend b);
/* 0 when backend b can run here; otherwise ZOO_ERR_UNSUPPORTED with the reason in
 * zoo_error_last() (not built, no device, no driver). */
int zoo_backend_available(zoo_backend b);
/* The device a run on backend b would use here, in words, into buf[n]: "cpu", or for
 * CUDA "cuda:0 of 4 (NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB)" (ZOO_CUDA_DEVICE, else
 * the node-local MPI/SLURM rank modulo the devices). 0, or the error of
 * zoo_backend_available (ZOO_ERR_UNSUPPORTED with the reason) or of the device query.
 * On CUDA this initialises the driver: a process that forks runs afterwards must not
 * call it. */
int zoo_backend_describe(zoo_backend b, char *buf, size_t n);
/* Ops of the core (total) and how many backend b implements, forward and backward. */
int zoo_backend_op_count(zoo_backend b, int *n_total);
/* The i-th op backend b lacks (i from 0), or NULL past the last. */
const char *zoo_backend_op_missing(zoo_backend b, int i);
/* The ops graph g uses that backend b lacks (a needed backward counts), as
 * "embedding, linear, ..." in buf; returns how many. Works before planning. */
int zoo_graph_missing_ops(const zoo_graph *g, zoo_backend b, char *buf, size_t n);

/* ---- execution ------------------------------------------------------------------- */
/* Check that the graph's backend has a kernel for every op (failing with each missing
 * op named, before any allocation), prepare each op's workspace, allocate parameters
 * (one flat buffer), gradients, both AdamW moments, one arena each for activations,
 * their gradients and op workspace; initialise parameters from `seed` on the host and
 * upload them once. After this, no allocation happens in forward/backward. */
int zoo_graph_plan(zoo_graph *g, uint64_t seed);
/* Activation memory (docs/backends.md): planning lets a node's values, workspace and
 * gradient share memory with buffers that hold nothing at the same time in the step
 * (forward of every node, then backward in reverse). After a step, only these stay
 * readable: inputs, nodes no other node consumes (the loss; ce_head's logits and
 * counts), parameters and their gradients; other nodes' values may be overwritten by
 * later ones, and an activation's gradient once its own backward has run.
 * zoo_graph_keep_all gives every buffer its own memory instead (tests that read every
 * node; ZOO_MEM_REUSE=0 in the environment does it for every graph). zoo_graph_forward_only
 * plans a graph that will only ever run forward passes (evaluation): no activation
 * gradients, each value freed after its last forward reader; backward then fails.
 * Both before zoo_graph_plan; 0 or ZOO_ERR_STATE. */
int zoo_graph_keep_all(zoo_graph *g);
int zoo_graph_forward_only(zoo_graph *g);
/* Training mode turns dropout on. `step` seeds dropout masks for this step. Writes
 * the backend's step state. */
int zoo_graph_set_training(zoo_graph *g, int training, uint64_t step);
/* Run every kernel; stops at the first failing one and returns its code, with the op
 * named in zoo_error_last(). With ZOO_SYNC_EACH_OP=1 in the environment the backend
 * synchronises and checks after each kernel (no-op on CPU). */
int zoo_graph_forward(zoo_graph *g);
/* Zero all gradients (parameter and activation), seed d(loss)=1, run the backward of
 * every node in reverse order. Backward kernels accumulate (+=) into gradients. */
int zoo_graph_backward(zoo_graph *g, zoo_tensor *loss);
/* The same from any node with a given output gradient dout (numel floats, host memory,
 * copied): for tests that check the vector-Jacobian product of one op. */
int zoo_graph_backward_seeded(zoo_graph *g, zoo_tensor *out, const float *dout);
/* Wait for the backend's queued work (no-op on CPU). */
int zoo_graph_synchronize(zoo_graph *g);
/* Op timing (benchmarks), on a planned graph: on = 1 starts (or restarts from zero) adding up each node's
 * kernel time, forward and backward apart, waiting for every kernel; 0 stops. Refused on
 * a graph whose steps are captured (CUDA graphs: ZOO_CUDA_GRAPH=0 before planning).
 * zoo_graph_profile_get reads node i (op = NULL for inputs and parameters); 0 past the
 * last node or when profiling is off. */
int zoo_graph_profile(zoo_graph *g, int on);
int zoo_graph_profile_get(const zoo_graph *g, int node, const char **op, double *forward_s, double *backward_s);

/* ---- tensor and parameter access ------------------------------------------------ */
int zoo_tensor_ndim(const zoo_tensor *t);
int64_t zoo_tensor_dim(const zoo_tensor *t, int i); /* i < 0 counts from the end */
int64_t zoo_tensor_numel(const zoo_tensor *t);
zoo_dtype zoo_tensor_dtype(const zoo_tensor *t);
const char *zoo_tensor_name(const zoo_tensor *t);   /* full name for params, "" otherwise */
/* Copy elements [first, first + count) of a planned tensor's values (f32 or int32, as
 * its dtype) between host memory and the backend's memory. Everything outside kernels
 * reads and writes tensors this way, on every backend. 0 or an error. */
int zoo_tensor_get(const zoo_tensor *t, void *dst, int64_t first, int64_t count);
int zoo_tensor_set(zoo_tensor *t, const void *src, int64_t first, int64_t count);
/* The same for the gradient of a tensor that has one. */
int zoo_tensor_get_grad(const zoo_tensor *t, float *dst, int64_t first, int64_t count);
/* Host pointers to a tensor's memory, for CPU-backend kernels' tests only: NULL on a
 * backend whose memory is not host memory, and NULL before planning. */
float *zoo_tensor_data(zoo_tensor *t);    /* f32 values */
float *zoo_tensor_grad(zoo_tensor *t);    /* gradient (NULL if none) */
int32_t *zoo_tensor_idata(zoo_tensor *t); /* int32 values of ZOO_I32 tensors */
int zoo_tensor_is_trainable(const zoo_tensor *t);
int zoo_tensor_is_alias(const zoo_tensor *t); /* made by zoo_alias */

/* Parameters and buffers in creation order. */
int zoo_graph_nparams(const zoo_graph *g);
zoo_tensor *zoo_graph_param(const zoo_graph *g, int i);
/* Count of trainable scalars (buffers excluded). */
int64_t zoo_graph_count_trainable(const zoo_graph *g);
/* The flat buffers: all parameters and buffers back to back, their gradients, AdamW's
 * first and second moments; each zoo_graph_flat_size floats. */
typedef enum zoo_flat { ZOO_FLAT_PARAMS = 0, ZOO_FLAT_GRADS, ZOO_FLAT_ADAM_M, ZOO_FLAT_ADAM_V } zoo_flat;
int64_t zoo_graph_flat_size(const zoo_graph *g);
int zoo_graph_flat_get(zoo_graph *g, zoo_flat which, float *dst, int64_t first, int64_t count);
int zoo_graph_flat_set(zoo_graph *g, zoo_flat which, const float *src, int64_t first, int64_t count);
/* Host pointers to the flat buffers (CPU backend tests only; NULL elsewhere). */
float *zoo_graph_params_flat(zoo_graph *g, int64_t *n);
float *zoo_graph_grads_flat(zoo_graph *g, int64_t *n);
float *zoo_graph_adam_m(zoo_graph *g);
float *zoo_graph_adam_v(zoo_graph *g);
/* Re-draw a parameter after planning (the depth-scaled out_proj init, docs/model.md):
 * drawn on the host, uploaded. */
int zoo_graph_reinit_param(zoo_graph *g, zoo_tensor *p, zoo_init init, uint64_t seed);

/* Planned bytes per buffer kind (after planning), for every backend. */
typedef struct zoo_mem_plan {
    size_t params;      /* parameters and buffers */
    size_t grads;       /* parameter gradients */
    size_t optimizer;   /* AdamW moments and the trainable mask */
    size_t activations; /* op outputs and inputs */
    size_t act_grads;   /* gradients of activations */
    size_t workspace;   /* op scratch kept from forward to backward, work buffers */
} zoo_mem_plan;
int zoo_graph_mem_plan(const zoo_graph *g, zoo_mem_plan *out);
size_t zoo_mem_plan_total(const zoo_mem_plan *m);
/* Bytes in the activation arenas (values, gradients, workspace) after planning. */
size_t zoo_graph_arena_bytes(const zoo_graph *g);

/* Threads for the OpenMP regions (0 = leave as is). BLAS always runs single-threaded:
 * the kernels cut matrix products into tiles themselves, so one thread pool does all
 * the work and results do not depend on the thread count. */
void zoo_set_threads(int n);


ZOO_API_END
#ifdef __cplusplus
}
#endif
#endif
