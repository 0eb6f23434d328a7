/* model.c: builds the language model of docs/model.md (embeddings, pre-norm blocks with
 * a plugin sequence mixer and an identity/MLP state mixer, or Mamba blocks for
 * mixers that ask for them, final norm, tied head with
 * CE at supervised positions), initialises it (docs/model.md, initialisation), and
 * loads batches into it.
 * Training and evaluation loops live in train.c; the mixers live in plugins. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* struct zoo_graph: the tf32 switch */
#include "run_internal.h"
#include "zoo/run.h"

#define LN_EPS 1e-5f
#define INIT_STD 0.02f

void zoo_model_free(zoo_model *m)
{
    if (!m)
        return;
    /* The graph goes first: it may point at plugin code (init callbacks). */
    zoo_graph_free(m->g);
    free(m->h_batch);
    for (int i = 0; i < m->n_plugins; i++) {
        zoo_hvals_free(m->hvals[i]);
        zoo_plugin_close(m->plugins[i]);
    }
    free(m);
}

static zoo_tensor *norm(zoo_graph *g, zoo_tensor *x, const char *name, int64_t D)
{
    char nw[128], nb[128];
    snprintf(nw, sizeof nw, "%s.weight", name);
    snprintf(nb, sizeof nb, "%s.bias", name);
    zoo_tensor *w = zoo_param(g, nw, 1, (int64_t[]){D}, zoo_init_const(1.0f));
    zoo_tensor *b = zoo_param(g, nb, 1, (int64_t[]){D}, zoo_init_zeros());
    return zoo_layernorm(g, x, w, b, LN_EPS);
}

/* Open the pattern's plugins and set their knobs (text from the spec, checked by the
 * plugin's knob table here). */
static int load_mixers(const zoo_run_spec *spec, zoo_model *m)
{
    for (int i = 0; i < spec->n_mixers; i++) {
        const zoo_mixer_ref *r = &spec->mixers[i];
        int rc = zoo_plugin_find(r->name, &m->plugins[i]);
        if (rc)
            return rc;
        m->n_plugins = i + 1;
        const zoo_mixer *mx = m->plugins[i]->mixer;
        if (mx->backends && spec->backend >= 0 && !(mx->backends & ZOO_BACKEND_BIT(spec->backend)))
            return ZOO_FAIL(ZOO_ERR_UNSUPPORTED, "mixer '%s' (%s) opts out of the %s backend: use backend cpu", r->name,
                            m->plugins[i]->path, zoo_backend_name(spec->backend));
        if ((rc = zoo_hvals_new(mx, &m->hvals[i])))
            return rc;
        for (int k = 0; k < r->n_knobs; k++)
            if ((rc = zoo_hvals_set(m->hvals[i], r->knobs[k].name, r->knobs[k].value))) {
                zoo_error_prefix("mixer %d (%s): ", i, r->name);
                return rc;
            }
    }
    return 0;
}

/* After the global N(0, 0.02) init, output projections are re-drawn with the
 * depth-scaled std 0.02/sqrt(2 n_layers) (docs/model.md, initialisation). Matched by
 * name like the Zoology code does. */
static int rescale_out_projections(zoo_graph *g, int n_layers, uint64_t seed)
{
    static const char *const pats[] = {"out_proj.weight", "fc2.weight", "output_linear.0.weight"};
    float std = (float)(INIT_STD / sqrt(2.0 * n_layers));
    for (int i = 0; i < zoo_graph_nparams(g); i++) {
        zoo_tensor *p = zoo_graph_param(g, i);
        if (!zoo_tensor_is_trainable(p))
            continue;
        for (int k = 0; k < 3; k++)
            if (strstr(zoo_tensor_name(p), pats[k])) {
                int rc = zoo_graph_reinit_param(g, p, zoo_init_normal(0.0f, std), seed);
                if (rc)
                    return rc;
                break;
            }
    }
    return 0;
}

/* Learned positions or not: "auto" means only when some layer's mixer is attention (Zoology Figure 2, Lmax = L). */
static int wants_positions(const zoo_run_spec *spec, const zoo_model *m)
{
    if (spec->pos_emb >= 0)
        return spec->pos_emb;
    int use_pos = 0;
    for (int l = 0; l < spec->n_layers; l++)
        if (!strcmp(m->plugins[l % spec->n_mixers]->mixer->family, "attention"))
            use_pos = 1;
    return use_pos;
}

/* Check one layer's block kind and knobs (the plugin's validate) and add its state size. */
static int check_layer(const zoo_run_spec *spec, zoo_model *m, const zoo_layer_info *li)
{
    const int l = li->layer_idx;
    const zoo_mixer *mx = m->plugins[l % spec->n_mixers]->mixer;
    const zoo_hvals *hv = m->hvals[l % spec->n_mixers];
    if (mx->block != ZOO_BLOCK_TRANSFORMER && mx->block != ZOO_BLOCK_MAMBA)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_SLOT, "layer %d mixer '%s' (%s) asks for block kind %u, which this zoo does not "
                        "know: set .block to ZOO_BLOCK_TRANSFORMER or ZOO_BLOCK_MAMBA",
                        l, mx->name, m->plugins[l % spec->n_mixers]->path, (unsigned)mx->block);
    if (mx->validate) {
        char msg[512] = "";
        int v = mx->validate(hv, li, msg, sizeof msg);
        if (v) {
            if (msg[0] && strstr(msg, mx->name)) /* the plugin named itself already */
                return ZOO_FAIL(v < 0 ? v : ZOO_ERR_INVALID, "layer %d: %s", l, msg);
            return ZOO_FAIL(v < 0 ? v : ZOO_ERR_INVALID, "layer %d mixer '%s': %s", l, mx->name,
                            msg[0] ? msg : "its knobs were rejected");
        }
    }
    if (mx->state_size)
        m->state_size += mx->state_size(hv, li);
    return 0;
}

/* The inputs and the token (and, when wanted, position) embeddings: h of (B, L, D). */
static zoo_tensor *build_embeddings(zoo_model *m, int64_t V, int64_t D, int use_pos)
{
    zoo_graph *g = m->g;
    const int64_t B = m->B, L = m->L, M = m->M;
    m->tokens = zoo_input(g, "tokens", ZOO_I32, 2, (int64_t[]){B, L});
    m->sup_pos = zoo_input(g, "sup_pos", ZOO_I32, 1, (int64_t[]){M});
    m->sup_lab = zoo_input(g, "sup_lab", ZOO_I32, 1, (int64_t[]){M});
    m->embed = zoo_param(g, "backbone.embeddings.word_embeddings.weight", 2, (int64_t[]){V, D},
                         zoo_init_normal(0.0f, INIT_STD));
    zoo_tensor *h = zoo_embedding(g, m->tokens, m->embed); /* (B, L, D) */
    if (use_pos) {
        zoo_tensor *P = zoo_param(g, "backbone.embeddings.position_embeddings.weight", 2, (int64_t[]){L, D},
                                  zoo_init_normal(0.0f, INIT_STD));
        h = zoo_add(g, h, P); /* P (L, D) broadcast over the batch */
    }
    return h;
}

/* Block l's mixer input: r takes in h, then the block's norm; `prefix` gets its mixer's parameter names. */
static zoo_tensor *block_input(const zoo_run_spec *spec, zoo_graph *g, int l, int mamba, zoo_tensor *h,
                               zoo_tensor **r, char *prefix, size_t n)
{
    const int64_t D = spec->d_model;
    char name[128];
    if (mamba) {
        /* MambaBlock: r = h + r, RMSNorm, mixer; no dropout, no state mixer. */
        *r = *r ? zoo_add(g, h, *r) : h;
        snprintf(name, sizeof name, "backbone.layers.%d.norm.weight", l);
        zoo_tensor *w = zoo_param(g, name, 1, (int64_t[]){D}, zoo_init_const(1.0f));
        snprintf(prefix, n, "backbone.layers.%d.mixer.", l);
        return zoo_rmsnorm(g, *r, w, LN_EPS);
    }
    /* dropout1: embed_dropout in block 0 only (resid_dropout = 0 elsewhere). */
    zoo_tensor *a = (l == 0 && spec->embed_dropout > 0) ? zoo_dropout(g, h, spec->embed_dropout) : h;
    *r = *r ? zoo_add(g, a, *r) : a;
    snprintf(name, sizeof name, "backbone.layers.%d.norm1", l);
    zoo_tensor *x = norm(g, *r, name, D);
    /* Zoology's Hybrid wraps each layer's mixer as `.mixer` (see the "based" hybrid's
     * state_dict), so a per-layer pattern keeps those names for checkpoint exchange. */
    snprintf(prefix, n, "backbone.layers.%d.sequence_mixer.%s", l, spec->n_mixers > 1 ? "mixer." : "");
    return x;
}

/* The plugin's sequence mixer on x under `prefix`; its output must be (B, L, D). */
static int build_mixer(const zoo_run_spec *spec, zoo_model *m, const zoo_layer_info *li, const char *prefix,
                       zoo_tensor *x, zoo_tensor **out)
{
    zoo_graph *g = m->g;
    const int l = li->layer_idx;
    const zoo_plugin *pl = m->plugins[l % spec->n_mixers];
    const zoo_mixer *mx = pl->mixer;
    zoo_graph_set_prefix(g, prefix);
    zoo_tensor *y = NULL;
    if (zoo_graph_status(g)) /* the embedding or a norm failed: not the plugin's fault */
        return ZOO_FAIL(zoo_graph_status(g), "building layer %d: %s", l, zoo_graph_error(g));
    int brc = mx->build(g, m->hvals[l % spec->n_mixers], li, x, &y);
    zoo_graph_set_prefix(g, "");
    if (brc || zoo_graph_status(g) || !y) {
        const char *why = zoo_graph_status(g) ? zoo_graph_error(g) : "it returned no output";
        return ZOO_FAIL(ZOO_ERR_PLUGIN_BUILD, "layer %d mixer '%s' (%s): %s", l, mx->name, pl->path, why);
    }
    if (zoo_tensor_ndim(y) != 3 || zoo_tensor_dim(y, 0) != m->B || zoo_tensor_dim(y, 1) != m->L ||
        zoo_tensor_dim(y, 2) != spec->d_model)
        return ZOO_FAIL(ZOO_ERR_PLUGIN_BUILD, "layer %d mixer '%s' returned a %d-dim output, not (B, L, D) = (%lld, %lld, %lld)",
                        l, mx->name, zoo_tensor_ndim(y), (long long)m->B, (long long)m->L, (long long)spec->d_model);
    *out = y;
    return 0;
}

/* The transformer block's second half: r += y, norm2, then the identity or MLP state mixer. */
static zoo_tensor *build_state_mixer(const zoo_run_spec *spec, zoo_graph *g, int l, zoo_tensor *y, zoo_tensor **r)
{
    const int64_t D = spec->d_model;
    char name[128];
    *r = zoo_add(g, y, *r);
    snprintf(name, sizeof name, "backbone.layers.%d.norm2", l);
    zoo_tensor *h = norm(g, *r, name, D); /* Identity state mixer: h = LN2(r), added to r next (not a no-op) */
    if (spec->state_mixer == ZOO_STATE_MLP) {
        snprintf(name, sizeof name, "backbone.layers.%d.state_mixer.fc1", l);
        h = zoo_nn_linear(g, h, name, 4 * D, 1);
        h = zoo_gelu(g, h);
        snprintf(name, sizeof name, "backbone.layers.%d.state_mixer.fc2", l);
        h = zoo_nn_linear(g, h, name, D, 1);
    }
    return h;
}

/* One block: h is the previous block's output, r the residual stream (B, L, D). */
static int build_block(const zoo_run_spec *spec, zoo_model *m, const zoo_layer_info *li, zoo_tensor **h,
                       zoo_tensor **r)
{
    const int l = li->layer_idx;
    const int mamba = m->plugins[l % spec->n_mixers]->mixer->block == ZOO_BLOCK_MAMBA;
    char prefix[128];
    zoo_tensor *x = block_input(spec, m->g, l, mamba, *h, r, prefix, sizeof prefix), *y = NULL;
    int rc = build_mixer(spec, m, li, prefix, x, &y);
    if (rc)
        return rc;
    /* A Mamba block's output is added to the residual by the next block or the backbone's end. */
    *h = mamba ? y : build_state_mixer(spec, m->g, l, y, r);
    return 0;
}

/* The backbone's end: r += h, ln_f, and the tied CE head at the supervised positions. */
static int build_head(zoo_model *m, zoo_tensor *h, zoo_tensor *r, int64_t D)
{
    zoo_graph *g = m->g;
    r = zoo_add(g, h, r);
    zoo_tensor *o = norm(g, r, "backbone.ln_f", D);
    m->loss = zoo_ce_head(g, o, m->embed, m->sup_pos, m->sup_lab);
    if (zoo_graph_status(g))
        return ZOO_FAIL(zoo_graph_status(g), "building the model: %s", zoo_graph_error(g));
    return 0;
}

/* The model's graph, planned (memory allocated, parameters drawn) when `plan`; for
 * forward passes only when `eval_only`. */
static int model_build(const zoo_run_spec *spec, int64_t B, int64_t M, int plan, int eval_only, zoo_model **out)
{
    if (!out)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_build: no output pointer");
    *out = NULL;
    int rc = zoo_run_spec_check(spec);
    if (rc)
        return rc;
    if (B < 1 || M < 1)
        return ZOO_FAIL(ZOO_ERR_INVALID, "model batch B=%lld and supervised slots M=%lld must both be >= 1",
                        (long long)B, (long long)M);
    zoo_model *m = calloc(1, sizeof *m);
    if (!m)
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
    const int64_t L = spec->seq_len, D = spec->d_model;
    const int nl = spec->n_layers;
    m->B = B;
    m->L = L;
    m->M = M;
    zoo_layer_info *li = NULL;
    int use_pos = 0;
    zoo_tensor *h = NULL, *r = NULL; /* the last block's output; the residual stream */
    if ((rc = load_mixers(spec, m)))
        goto fail;
    use_pos = wants_positions(spec, m);
    if (!(li = calloc((size_t)nl, sizeof *li))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int l = 0; l < nl; l++) {
        li[l] = (zoo_layer_info){l, nl, D, L, L, B};
        if ((rc = check_layer(spec, m, &li[l])))
            goto fail;
    }
    if (!(m->g = zoo_graph_new(spec->backend))) {
        rc = ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory");
        goto fail;
    }
    m->g->tf32 = spec->tf32;
    h = build_embeddings(m, spec->vocab, D, use_pos);
    for (int l = 0; l < nl; l++)
        if ((rc = build_block(spec, m, &li[l], &h, &r)))
            goto fail;
    if ((rc = build_head(m, h, r, D)))
        goto fail;
    if (eval_only && (rc = zoo_graph_forward_only(m->g)))
        goto fail;
    if (plan && ((rc = zoo_graph_plan(m->g, spec->seed)) || (rc = rescale_out_projections(m->g, nl, spec->seed))))
        goto fail;
    free(li);
    *out = m;
    return 0;
fail:
    free(li);
    zoo_model_free(m);
    return rc;
}

static int build_resolved(const zoo_run_spec *spec, int64_t B, int64_t M, int eval_only, zoo_model **out)
{
    if (spec && (spec->backend < 0 || spec->backend >= ZOO_BACKEND_COUNT))
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_build: backend '%s' is not resolved: call zoo_run_spec_backend first",
                        spec->backend == ZOO_BACKEND_AUTO ? "auto" : "?");
    return model_build(spec, B, M, 1, eval_only, out);
}

int zoo_model_build(const zoo_run_spec *spec, int64_t B, int64_t M, zoo_model **out)
{
    return build_resolved(spec, B, M, 0, out);
}

int zoo_model_build_eval(const zoo_run_spec *spec, int64_t B, int64_t M, zoo_model **out)
{
    return build_resolved(spec, B, M, 1, out);
}

int zoo_model_backends(const zoo_run_spec *spec, uint32_t *mask, char *why, size_t n)
{
    if (why && n)
        why[0] = 0;
    if (!mask)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_backends: no output");
    *mask = 0;
    zoo_model *m = NULL;
    int rc = model_build(spec, 1, 1, 0, 0, &m); /* the graph only: nothing is allocated */
    if (rc)
        return rc;
    size_t k = 0;
    for (int b = 0; b < ZOO_BACKEND_COUNT; b++) {
        char missing[512];
        int nm = zoo_graph_missing_ops(m->g, (zoo_backend)b, missing, sizeof missing);
        uint32_t opt_out = 0; /* a plugin may still exclude a backend its ops have */
        for (int i = 0; i < m->n_plugins; i++)
            if (m->plugins[i]->mixer->backends && !(m->plugins[i]->mixer->backends & ZOO_BACKEND_BIT(b)))
                opt_out = 1;
        if (!nm && !opt_out)
            *mask |= ZOO_BACKEND_BIT(b);
        else if (why && k < n)
            k += (size_t)snprintf(why + k, n - k, "%s%s: %s%s", k ? "; " : "", zoo_backend_name((zoo_backend)b),
                                  opt_out ? "excluded by the plugin" : "no kernel for ", opt_out ? "" : missing);
    }
    zoo_model_free(m);
    return 0;
}

int zoo_model_load_batch(zoo_model *m, const zoo_dataset *d, const int64_t *order, int64_t first, int64_t count)
{
    if (!m || !d || !m->g)
        return ZOO_FAIL(ZOO_ERR_INVALID, "zoo_model_load_batch: no model or dataset");
    if (d->L != m->L)
        return ZOO_FAIL(ZOO_ERR_SHAPE, "dataset sequences have length %lld but the model was built for L=%lld",
                        (long long)d->L, (long long)m->L);
    if (count < 0 || count > m->B || first < 0 || first + count > d->n)
        return ZOO_FAIL(ZOO_ERR_INVALID, "batch rows [%lld, %lld) of a %lld-example dataset with model batch %lld",
                        (long long)first, (long long)(first + count), (long long)d->n, (long long)m->B);
    const int64_t L = m->L, V = zoo_tensor_dim(m->embed, 0);
    if (!m->h_batch && !(m->h_batch = malloc((size_t)(m->B * L + 2 * m->M) * sizeof *m->h_batch)))
        return ZOO_FAIL(ZOO_ERR_NOMEM, "out of memory for the batch staging buffer");
    int32_t *tok = m->h_batch;     /* (B, L) */
    int32_t *pos = tok + m->B * L; /* (M) */
    int32_t *lab = pos + m->M;     /* (M) */
    int64_t ns = 0;
    for (int64_t b = 0; b < count; b++) {
        int64_t row = order ? order[first + b] : first + b;
        if (row < 0 || row >= d->n)
            return ZOO_FAIL(ZOO_ERR_INVALID, "batch order names row %lld of a %lld-example dataset", (long long)row,
                            (long long)d->n);
        const int32_t *in = d->inputs + row * L, *lb = d->labels + row * L;
        for (int64_t t = 0; t < L; t++) {
            if (in[t] < 0 || in[t] >= V)
                return ZOO_FAIL(ZOO_ERR_INVALID, "example %lld position %lld holds token %d outside the vocabulary [0, %lld)",
                                (long long)row, (long long)t, in[t], (long long)V);
            tok[b * L + t] = in[t];
            if (lb[t] == ZOO_IGNORE_LABEL)
                continue; /* a label outside the vocabulary is the head's to report (ce_head) */
            if (ns == m->M)
                return ZOO_FAIL(ZOO_ERR_SHAPE,
                                "this batch has more than M=%lld supervised positions: build the model with a larger M",
                                (long long)m->M);
            pos[ns] = (int32_t)(b * L + t);
            lab[ns] = lb[t];
            ns++;
        }
    }
    /* Padding rows: blank tokens and no supervised entries, so they change nothing. */
    memset(tok + count * L, 0, (size_t)((m->B - count) * L) * sizeof *tok);
    for (int64_t i = ns; i < m->M; i++) {
        pos[i] = 0;
        lab[i] = ZOO_IGNORE_LABEL;
    }
    int rc = zoo_tensor_set(m->tokens, tok, 0, m->B * L);
    if (!rc)
        rc = zoo_tensor_set(m->sup_pos, pos, 0, m->M);
    if (!rc)
        rc = zoo_tensor_set(m->sup_lab, lab, 0, m->M);
    return rc;
}
