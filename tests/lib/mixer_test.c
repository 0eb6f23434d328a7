/* mixer_test.c: the mixer plugin tests' shared steps (mixer_test.h). */
#define _POSIX_C_SOURCE 200809L
#include "mixer_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zt_set_knobs(zoo_hvals *h, const char *knobs)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", knobs ? knobs : "");
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            fprintf(stderr, "FAIL: knob '%s' is not name=value\n", tok);
            return 1;
        }
        *eq = 0;
        if (zoo_hvals_set(h, tok, eq + 1)) {
            fprintf(stderr, "FAIL: knob %s=%s: %s\n", tok, eq + 1, zoo_error_last()->msg);
            return 1;
        }
    }
    return 0;
}

void zt_mixer_free(zt_mixer *b)
{
    zoo_graph_free(b->g);
    zoo_hvals_free(b->h);
    zoo_plugin_close(b->p);
    memset(b, 0, sizeof *b);
}

/* Plugin and knobs only. 0 ok. */
static int load(zt_mixer *b, const char *mixer, const char *knobs, const char *extra)
{
    return zoo_plugin_find(mixer, &b->p) || zoo_hvals_new(b->p->mixer, &b->h) || zt_set_knobs(b->h, knobs) ||
           zt_set_knobs(b->h, extra);
}

int zt_mixer_build(zt_mixer *b, const char *mixer, const char *prefix, const char *label, const char *knobs,
                   const char *extra, zoo_layer_info li)
{
    memset(b, 0, sizeof *b);
    b->mixer = mixer;
    b->prefix = prefix;
    b->label = label ? label : knobs;
    if (load(b, mixer, knobs, extra)) {
        fprintf(stderr, "FAIL [%s]: cannot load the plugin or set its knobs: %s\n", b->label, zoo_error_last()->msg);
        return 1;
    }
    b->li = li;
    b->g = zoo_graph_new(ZOO_BACKEND_CPU);
    b->x = zoo_param(b->g, "x", 3, (int64_t[]){li.batch, li.seq_len, li.d_model}, zoo_init_zeros());
    zoo_graph_set_prefix(b->g, prefix);
    int rc = b->p->mixer->build(b->g, b->h, &b->li, b->x, &b->y);
    zoo_graph_set_prefix(b->g, "");
    if (rc || !b->y) {
        fprintf(stderr, "FAIL [%s]: build: %s\n", b->label, zoo_graph_error(b->g));
        return 1;
    }
    return 0;
}

int zt_mixer_plan_fill(zt_mixer *b, uint64_t seed, float std)
{
    if (zt_check_rc(zoo_graph_plan(b->g, seed), "plan"))
        return 1;
    zt_fill_params(b->g, seed, std);
    zt_fill_normal(zoo_tensor_data(b->x), zoo_tensor_numel(b->x), seed + 1, 1.0f);
    return 0;
}

zoo_tensor *zt_mixer_param(const zt_mixer *b, const char *rel)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", b->prefix, rel);
    return zoo_graph_find_param(b->g, name);
}

float *zt_mixer_pdata(const zt_mixer *b, const char *rel)
{
    zoo_tensor *t = zt_mixer_param(b, rel);
    return t ? zoo_tensor_data(t) : NULL;
}

static int write_config(const char *dir, const zt_mixer *b)
{
    char path[1200], knobs[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    zoo_hvals_format(b->h, knobs, sizeof knobs);
    double state = b->p->mixer->state_size ? b->p->mixer->state_size(b->h, &b->li) : -1;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "FAIL: cannot write %s\n", path);
        return 1;
    }
    const zoo_layer_info *li = &b->li;
    fprintf(f, "{\"mixer\": \"%s\", \"knobs\": \"%s\", \"B\": %lld, \"L\": %lld, \"l_max\": %lld, \"D\": %lld, "
               "\"layer_idx\": %d, \"n_layers\": %d, \"state_size\": %.17g, \"prefix\": \"%s\", \"label\": \"%s\"%s%s}\n",
            b->mixer, knobs, (long long)li->batch, (long long)li->seq_len, (long long)li->l_max, (long long)li->d_model,
            li->layer_idx, li->n_layers, state, b->prefix, b->label, b->config_extra[0] ? ", " : "", b->config_extra);
    return fclose(f) != 0;
}

int zt_mixer_torchref(const char *tag, const char *script, int n, zt_mixer_case_fn make, uint64_t seed)
{
    char root[1024];
    if (zt_tmpdir(root, sizeof root, tag))
        return 1;
    int bad = 0;
    for (int i = 0; i < n && !bad; i++) {
        zt_mixer b;
        memset(&b, 0, sizeof b);
        int rc = make(i, 0, &b, seed + (uint64_t)i);
        if (rc == 0) {
            char sub[1100];
            snprintf(sub, sizeof sub, "%s/case%02d", root, i);
            zt_dump *d = zt_dump_open(sub, NULL);
            bad = !d || write_config(sub, &b) || zt_torchref(d, b.g, b.y, seed + (uint64_t)i, NULL);
        } else
            bad = rc > 0;
        zt_mixer_free(&b);
    }
    char args[1100];
    snprintf(args, sizeof args, "'%s'", root);
    int rc = bad ? 1 : zt_python(script, args);
    if (rc == 0 || rc == ZT_SKIP)
        zt_rmtree(root);
    else
        fprintf(stderr, "  (reference inputs kept in %s)\n", root);
    return rc;
}

int zt_mixer_gradcheck(int n, zt_mixer_case_fn make, uint64_t seed)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        zt_mixer b;
        memset(&b, 0, sizeof b);
        int rc = make(i, 1, &b, seed + (uint64_t)i);
        if (rc < 0)
            continue;
        int fail = rc || zt_check_rc(zoo_graph_forward(b.g), "forward") || zt_gradcheck(b.g, b.y, seed, 12, 0, 0, 0);
        if (fail)
            fprintf(stderr, "  in case [%s]\n", b.label ? b.label : "?");
        bad |= fail;
        zt_mixer_free(&b);
    }
    return bad;
}

void zt_mixer_bad_knob(const char *mixer, const char *knobs, const char *knob, const char *fix, zoo_layer_info li,
                       int code)
{
    zt_mixer b;
    memset(&b, 0, sizeof b);
    if (load(&b, mixer, knobs, NULL)) {
        ZT_CHECK(0, "%s: cannot load or set %s: %s", mixer, knobs, zoo_error_last()->msg);
        zt_mixer_free(&b);
        return;
    }
    char msg[512] = "", want[80];
    snprintf(want, sizeof want, "'%s'", mixer);
    int rc = b.p->mixer->validate ? b.p->mixer->validate(b.h, &li, msg, sizeof msg) : 0;
    ZT_CHECK(rc == code && strstr(msg, want) && strstr(msg, knob) && (!fix || strstr(msg, fix)) && !strchr(msg, '\n'),
             "%s with %s: validate gave %d '%s' (want %d, one line naming %s, %s and '%s')", mixer, knobs, rc, msg, code,
             want, knob, fix ? fix : "");
    zoo_error_clear();
    b.g = zoo_graph_new(ZOO_BACKEND_CPU);
    b.x = zoo_param(b.g, "x", 3, (int64_t[]){li.batch, li.seq_len, li.d_model}, zoo_init_zeros());
    rc = b.p->mixer->build(b.g, b.h, &li, b.x, &b.y);
    ZT_CHECK(rc == code && strstr(zoo_graph_error(b.g), knob), "%s with %s: build gave %d '%s' (want %d naming %s)",
             mixer, knobs, rc, zoo_graph_error(b.g), code, knob);
    zt_mixer_free(&b);
}

double zt_mixer_state(const char *mixer, const char *knobs, zoo_layer_info li)
{
    zt_mixer b;
    memset(&b, 0, sizeof b);
    double s = -1;
    if (!load(&b, mixer, knobs, NULL) && b.p->mixer->state_size)
        s = b.p->mixer->state_size(b.h, &li);
    zt_mixer_free(&b);
    return s;
}

void zt_mixer_names(const char *mixer, const char *prefix, const char *knobs, zoo_layer_info li, const zt_pshape *want,
                    int n, int n_absent, int ordered)
{
    zt_mixer b;
    if (zt_mixer_build(&b, mixer, prefix, knobs, knobs, NULL, li)) {
        ZT_CHECK(0, "%s [%s] layer %d: build", mixer, knobs, li.layer_idx);
        zt_mixer_free(&b);
        return;
    }
    /* + 1: the input parameter x */
    ZT_CHECK(zoo_graph_nparams(b.g) == n + 1, "%s [%s] layer %d: %d parameters and buffers, the reference lists %d",
             mixer, knobs, li.layer_idx, zoo_graph_nparams(b.g) - 1, n);
    for (int i = 0; i < n + n_absent; i++) {
        zoo_tensor *t = zt_mixer_param(&b, want[i].name);
        if (i >= n) {
            ZT_CHECK(!t, "%s [%s] layer %d has %s%s, which the reference creates only elsewhere", mixer, knobs,
                     li.layer_idx, prefix, want[i].name);
            continue;
        }
        int nd = 0;
        while (nd < 4 && want[i].s[nd])
            nd++;
        int ok = t && zoo_tensor_ndim(t) == nd && zoo_tensor_is_trainable(t) == !want[i].buffer;
        for (int d = 0; ok && d < nd; d++)
            ok = zoo_tensor_dim(t, d) == want[i].s[d];
        ZT_CHECK(ok, "%s [%s] layer %d: %s%s missing, misshaped or wrongly %s", mixer, knobs, li.layer_idx, prefix,
                 want[i].name, want[i].buffer ? "trainable" : "frozen");
        /* creation order is the state_dict's, so checkpoints list names in its order */
        if (ordered)
            ZT_CHECK(t && zoo_graph_param(b.g, i + 1) == t, "%s [%s]: %s is not parameter %d", mixer, knobs,
                     want[i].name, i + 1);
    }
    zt_mixer_free(&b);
}

zoo_model *zt_model(const char *mixer, const char *key, const char *val)
{
    zoo_run_spec s;
    zoo_run_spec_default(&s);
    zoo_model *m = NULL;
    int rc = zoo_run_spec_set(&s, "mixer", mixer);
    if (!rc && key)
        rc = zoo_run_spec_set(&s, key, val);
    if (!rc)
        rc = zoo_model_build(&s, 2, 8, &m);
    ZT_CHECK(!rc, "model %s: %s", mixer, zoo_error_last()->msg);
    if (rc) {
        zoo_model_free(m);
        return NULL;
    }
    return m;
}

void zt_model_count(const char *mixer, const char *key, const char *val, int64_t want)
{
    zoo_model *m = zt_model(mixer, key, val);
    if (m)
        ZT_CHECK(zoo_graph_count_trainable(m->g) == want, "model %s at D=64 L=64 V=8192: %lld trainable, expected %lld",
                 mixer, (long long)zoo_graph_count_trainable(m->g), (long long)want);
    zoo_model_free(m);
}

int zt_main(int argc, char **argv, const char *what, uint64_t seed, const zt_mode *modes)
{
    const char *mode = argc > 1 ? argv[1] : "", *arg = argc > 2 ? argv[2] : "";
    zoo_set_threads(2);
    for (const zt_mode *m = modes; m->name; m++) {
        if (strcmp(mode, m->name))
            continue;
        int rc = m->run(arg, seed);
        if (rc == ZT_SKIP)
            return ZT_SKIP;
        printf("%s %s: %s\n", what ? what : arg, mode, rc ? "FAIL" : "ok");
        return rc ? 1 : 0;
    }
    fprintf(stderr, "usage: %s", argv[0]);
    for (const zt_mode *m = modes; m->name; m++)
        fprintf(stderr, "%s%s", m == modes ? " " : "|", m->name);
    fprintf(stderr, "\n");
    return 2;
}
