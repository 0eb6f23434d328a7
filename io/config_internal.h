/* config_internal.h: what the three parts of the sweep-file reader share: the
 * parsed-but-not-expanded form of a file (fields with their values and YAML
 * locations, zip groups, exclude entries) and the error helper. Not installed. */
#ifndef ZOO_CONFIG_INTERNAL_H
#define ZOO_CONFIG_INTERNAL_H

#include <libfyaml.h>

#include "zoo/config.h"
#include "zoo/plugin.h"
#include "zoo/run.h"

#define CFG_MAX_FIELDS 48
#define CFG_MAX_PLUGINS 32
#define CFG_MAX_EXPAND 4096      /* alternatives one mixer entry may expand to */
#define CFG_MAX_RUNS 100000      /* a sweep beyond this is almost surely a mistake */

typedef struct cfg_loc {
    int line, col; /* 1-based; 0 when unknown */
} cfg_loc;

typedef enum cfg_ftype { FT_INT, FT_UINT, FT_FLOAT, FT_BOOL, FT_STR, FT_MIXER } cfg_ftype;

/* One value a field takes (a scalar field has one, an axis several). */
typedef struct cfg_value {
    char text[1024];  /* what zoo_run_spec_set gets (mixers: "attention" or "[a, b]") */
    char label[256];  /* for messages: the value, mixers with their knobs "based(feature_dim=8)" */
    char names[256];  /* mixers only: names without knobs, "base_conv+based" (exclude matching) */
    cfg_loc loc;
    int is_num;
    double num;
    int n_pattern; /* mixers only: the per-layer pattern */
    zoo_mixer_ref pattern[ZOO_MAX_PATTERN];
} cfg_value;

typedef struct cfg_field {
    char name[32];   /* as written: "seq_len", "mixers" */
    const char *key; /* the zoo_run_spec_set key */
    char knob_key[80]; /* a task knob's key "task.<knob>" (key points here) */
    char only_task[32]; /* a knob given in the section of one task: set on that task's runs only */
    cfg_ftype type;
    cfg_loc loc;     /* of the key */
    int axis;        /* the file gave a list of alternatives */
    int n_vals;
    cfg_value *vals;
    int zip;         /* zip group, -1 when none */
    int dim;         /* grid dimension (axes only) */
} cfg_field;

/* One exclude entry: a run is dropped when, for every condition, its value index of
 * that field is flagged. */
typedef struct cfg_exclude {
    cfg_loc loc;
    int n;
    int field[CFG_MAX_FIELDS];
    unsigned char *hit[CFG_MAX_FIELDS]; /* n_vals flags each */
} cfg_exclude;

typedef struct cfg {
    const char *src;        /* the path or name used in messages */
    struct fy_diag *probe;  /* collects the locations of nodes (see zoo_cfg_loc) */
    cfg_field fields[CFG_MAX_FIELDS];
    int n_fields;
    int n_zip;
    cfg_loc zip_loc[CFG_MAX_FIELDS];
    cfg_exclude *excl;
    int n_excl;
    cfg_loc task_loc;       /* where a run file's constraint errors point (start of file) */
    struct {
        char name[64];
        zoo_plugin *p;
    } plugins[CFG_MAX_PLUGINS];
    int n_plugins;
} cfg;

/* Record ZOO_ERR_CONFIG "src:line:col: message" and return it. */
int zoo_cfg_fail(const cfg *c, cfg_loc at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Location of a node (its first token); `fallback` when YAML has none (empty values). */
cfg_loc zoo_cfg_loc(const cfg *c, struct fy_node *n, cfg_loc fallback);
/* Scalar helpers: plain (unquoted) style; YAML null ("", "~", "null"). */
int zoo_cfg_is_plain(struct fy_node *n);
int zoo_cfg_is_null(struct fy_node *n);
/* "a mapping" / "a list" / "a string" ... for wrong-type messages. */
const char *zoo_cfg_kind(struct fy_node *n);

/* config_mixer.c: parse `mixer:` / `mixers:` into f->vals (loads plugins to check
 * names and knobs; they stay open in c->plugins). */
int zoo_cfg_parse_mixers(cfg *c, cfg_field *f, struct fy_node *val, int alternatives);
/* The plugin of a mixer name (opened once per name); error at `at` if unknown. */
int zoo_cfg_plugin(cfg *c, const char *name, cfg_loc at, zoo_plugin **out);
/* Apply a mixer value to a spec ("mixer" then "mixer.<i>.<knob>"). */
int zoo_cfg_apply_mixer(zoo_run_spec *s, const cfg_value *v);

/* config_grid.c: zip groups, exclude entries, the product, per-run checks. */
int zoo_cfg_parse_zip(cfg *c, struct fy_node *zip, cfg_loc at);
int zoo_cfg_parse_exclude(cfg *c, struct fy_node *ex, cfg_loc at);
int zoo_cfg_expand(cfg *c, zoo_sweep *out);

#endif
