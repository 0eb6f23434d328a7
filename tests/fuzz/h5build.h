/* h5build.h: structure-aware HDF5 inputs. A harness describes the valid layout zoo
 * writes (datasets, groups, links and attributes with their types, shapes and values);
 * h5b_mutate reads the fuzz input as a list of edits to that layout (drop, rename,
 * retype, reshape, revalue an object, add one, change a compound's members, the file's
 * creation-order flags) and h5b_write builds the result with the HDF5 C API. zoo's
 * reader then runs on a well-formed HDF5 file whose *contents* are hostile: that is
 * zoo's validation, which is what zoo owns (byte-level damage mostly finds bugs inside
 * libhdf5 itself). No input bytes: the layout as described, unchanged. */
#ifndef ZOO_FUZZ_H5BUILD_H
#define ZOO_FUZZ_H5BUILD_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

#define H5B_MAX_OBJS 96
#define H5B_MAX_RANK 4
#define H5B_MAX_MEMBERS 48
#define H5B_NAME 96

typedef enum h5b_kind { H5B_DATASET, H5B_ATTR, H5B_GROUP, H5B_SOFTLINK, H5B_HARDLINK } h5b_kind;

typedef enum h5b_type {
    H5B_I32, H5B_I64, H5B_I8, H5B_U8, H5B_U32, H5B_U64, H5B_F32, H5B_F64, H5B_I16BE, H5B_F64BE,
    H5B_STR_FIXED, H5B_STR_VLEN, H5B_OPAQUE, H5B_BITFIELD, H5B_COMPOUND, H5B_ARRAY_I32,
    H5B_NTYPES
} h5b_type;

typedef struct h5b_member {
    char name[48];
    h5b_type type; /* any but COMPOUND */
    int strsize;   /* H5B_STR_FIXED */
} h5b_member;

typedef struct h5b_obj {
    h5b_kind kind;
    char name[H5B_NAME];   /* path from the root ("/runs/000000" or "inputs"); attributes: their name */
    int parent;            /* attributes: -1 for the root, else the object (dataset or group) index */
    char target[H5B_NAME]; /* links: what they point at */
    h5b_type type;
    int strsize;           /* H5B_STR_FIXED; 0: strlen + 1 */
    int strpad;            /* 0 NULLTERM, 1 NULLPAD, 2 SPACEPAD */
    int rank;              /* 0: scalar */
    hsize_t dims[H5B_MAX_RANK];
    int chunked;
    /* numbers: element i holds base + (i * step) % mod (mod 0: no wrap); raw bytes,
     * when given, are cycled over the element bytes instead */
    int64_t base, step, mod;
    double fbase, fstep;
    const uint8_t *raw;
    size_t nraw;
    char sval[512];        /* strings: every element */
    int n_members;         /* compounds */
    h5b_member members[H5B_MAX_MEMBERS];
    int live;              /* 0: dropped */
} h5b_obj;

typedef struct h5b {
    h5b_obj obj[H5B_MAX_OBJS];
    int n;
    int crt_order; /* 1: attribute and link creation order tracked and indexed (as zoo writes) */
    int latest;    /* 1: newest file format */
} h5b;

/* Append objects (the default layout); return the new object for further fields. */
h5b_obj *h5b_add(h5b *b, h5b_kind kind, const char *name, int parent);
h5b_obj *h5b_num_attr(h5b *b, int parent, const char *name, h5b_type type, int64_t v);
h5b_obj *h5b_float_attr(h5b *b, int parent, const char *name, double v);
h5b_obj *h5b_str_attr(h5b *b, int parent, const char *name, h5b_type type, const char *v);
/* Index of the object, or -1. */
int h5b_find(const h5b *b, const char *name);

/* Apply the edits the input describes; `names` are extra names worth trying (the
 * reader's own), NULL-terminated. */
void h5b_mutate(h5b *b, fz *f, const char *const *names);
/* Build the file at path (replacing it). 0, or -1 when HDF5 refused the layout (the
 * harness then has nothing to test). */
int h5b_write(const h5b *b, const char *path);

#endif
