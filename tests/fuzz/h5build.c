/* h5build.c: the layout edits and the HDF5 writer of h5build.h. */
#define _GNU_SOURCE
#include "h5build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Declared shapes stay at most this many elements: zoo allocates what a file declares
 * (as it must, to read it), and the harness's memory limit would report a large but
 * honest shape as a crash. */
#define MAX_ELEMS ((hsize_t)1 << 18)
/* Larger datasets are chunked and left unwritten (reads give the fill value). */
#define MAX_WRITTEN ((hsize_t)1 << 16)
#define MAX_WRITTEN_BYTES ((hsize_t)1 << 21)
#define MAX_EDITS 64

h5b_obj *h5b_add(h5b *b, h5b_kind kind, const char *name, int parent)
{
    if (b->n == H5B_MAX_OBJS)
        return NULL;
    h5b_obj *o = &b->obj[b->n++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->parent = parent;
    o->live = 1;
    o->type = H5B_I64;
    snprintf(o->name, sizeof o->name, "%s", name);
    return o;
}

h5b_obj *h5b_num_attr(h5b *b, int parent, const char *name, h5b_type type, int64_t v)
{
    h5b_obj *o = h5b_add(b, H5B_ATTR, name, parent);
    if (o) {
        o->type = type;
        o->base = v;
        o->fbase = (double)v;
    }
    return o;
}

h5b_obj *h5b_float_attr(h5b *b, int parent, const char *name, double v)
{
    h5b_obj *o = h5b_add(b, H5B_ATTR, name, parent);
    if (o) {
        o->type = H5B_F64;
        o->fbase = v;
        o->base = (int64_t)v;
    }
    return o;
}

h5b_obj *h5b_str_attr(h5b *b, int parent, const char *name, h5b_type type, const char *v)
{
    h5b_obj *o = h5b_add(b, H5B_ATTR, name, parent);
    if (o) {
        o->type = type;
        snprintf(o->sval, sizeof o->sval, "%s", v);
    }
    return o;
}

int h5b_find(const h5b *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (b->obj[i].live && !strcmp(b->obj[i].name, name))
            return i;
    return -1;
}

/* ---- edits ------------------------------------------------------------------------ */

static const hsize_t dim_table[] = {0, 1, 2, 3, 4, 5, 7, 8, 16, 17, 32, 64, 100, 255, 256, 1000, 4096, 65536};
static const int64_t int_table[] = {0,          1,         -1,        2,         -100,      -101,
                                    127,        128,       255,       256,       32767,     65535,
                                    INT32_MAX,  INT32_MIN, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN, 7,
                                    16,         15,        1 << 20,   (int64_t)1 << 40};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int64_t pick_int(fz *f)
{
    uint8_t k = fz_u8(f);
    if (k < 200)
        return int_table[k % N_OF(int_table)];
    return (int64_t)fz_u64(f);
}

static double pick_float(fz *f)
{
    static const double t[] = {0.0, 1.0, -1.0, 0.01, 0.5, 1e-3, 1e308, -1e308, 5e-324, 123456789.0, 2.5, 64.0};
    uint8_t k = fz_u8(f);
    if (k < 200)
        return t[k % N_OF(t)];
    if (k < 210)
        return NAN;
    if (k < 220)
        return k & 1 ? INFINITY : -INFINITY;
    uint64_t bits = fz_u64(f);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void pick_name(h5b *b, fz *f, const char *const *names, char *out, size_t n)
{
    int n_names = 0;
    while (names && names[n_names])
        n_names++;
    uint8_t k = fz_u8(f);
    if (k < 128 && n_names) {
        snprintf(out, n, "%s", names[k % n_names]);
    } else if (k < 192 && b->n) {
        snprintf(out, n, "%s", b->obj[k % b->n].name);
    } else {
        char s[H5B_NAME];
        fz_str(f, s, sizeof s);
        snprintf(out, n, "%s", s);
    }
}

static void pick_shape(h5b_obj *o, fz *f)
{
    o->rank = (int)fz_pick(f, H5B_MAX_RANK + 1);
    hsize_t total = 1;
    for (int i = 0; i < o->rank; i++) {
        hsize_t d = dim_table[fz_pick(f, N_OF(dim_table))];
        if (d && total * d > MAX_ELEMS)
            d = 1;
        o->dims[i] = d;
        total *= d ? d : 1;
    }
}

static void edit_members(h5b_obj *o, fz *f, const char *const *names)
{
    uint8_t op = fz_u8(f) % 4;
    if (!o->n_members && op != 3)
        return;
    int m = (int)fz_pick(f, (uint32_t)o->n_members);
    switch (op) {
    case 0: /* drop member m */
        memmove(&o->members[m], &o->members[m + 1], (size_t)(o->n_members - m - 1) * sizeof o->members[0]);
        o->n_members--;
        break;
    case 1: /* retype member m */
        o->members[m].type = (h5b_type)fz_pick(f, H5B_COMPOUND);
        o->members[m].strsize = (int)fz_pick(f, 40);
        break;
    case 2: { /* rename member m */
        int n_names = 0;
        while (names && names[n_names])
            n_names++;
        if (fz_u8(f) & 1 || !n_names)
            fz_str(f, o->members[m].name, sizeof o->members[m].name);
        else
            snprintf(o->members[m].name, sizeof o->members[m].name, "%s", names[fz_pick(f, (uint32_t)n_names)]);
        break;
    }
    case 3: /* add a member */
        if (o->n_members < H5B_MAX_MEMBERS) {
            h5b_member *x = &o->members[o->n_members++];
            fz_str(f, x->name, sizeof x->name);
            x->type = (h5b_type)fz_pick(f, H5B_COMPOUND);
            x->strsize = 8;
        }
        break;
    }
}

void h5b_mutate(h5b *b, fz *f, const char *const *names)
{
    for (int e = 0; e < MAX_EDITS && f->n; e++) {
        uint8_t op = fz_u8(f) % 12;
        h5b_obj *o = b->n ? &b->obj[fz_pick(f, (uint32_t)b->n)] : NULL;
        if (!o && op != 9 && op != 11)
            continue;
        switch (op) {
        case 0: o->live = 0; break;
        case 1: pick_name(b, f, names, o->name, sizeof o->name); break;
        case 2: o->type = (h5b_type)fz_pick(f, H5B_NTYPES); break;
        case 3: pick_shape(o, f); break;
        case 4:
            o->base = pick_int(f);
            o->step = pick_int(f);
            o->mod = fz_u8(f) & 1 ? pick_int(f) : 0;
            o->raw = NULL;
            break;
        case 5:
            o->fbase = pick_float(f);
            o->fstep = pick_float(f);
            o->raw = NULL;
            break;
        case 6: o->raw = fz_bytes(f, fz_u8(f), &o->nraw); break;
        case 7:
            if (fz_u8(f) & 1)
                fz_str(f, o->sval, sizeof o->sval);
            else
                pick_name(b, f, names, o->sval, sizeof o->sval);
            break;
        case 8:
            o->strsize = (int)fz_pick(f, 80);
            o->strpad = (int)fz_pick(f, 3);
            break;
        case 9: {
            h5b_kind kind = (h5b_kind)fz_pick(f, 5);
            char name[H5B_NAME];
            pick_name(b, f, names, name, sizeof name);
            int parent = kind == H5B_ATTR && b->n && fz_u8(f) & 1 ? (int)fz_pick(f, (uint32_t)b->n) : -1;
            h5b_obj *x = h5b_add(b, kind, name, parent);
            if (x) {
                x->type = (h5b_type)fz_pick(f, H5B_NTYPES);
                pick_shape(x, f);
                pick_name(b, f, names, x->target, sizeof x->target);
                x->base = pick_int(f);
                x->fbase = pick_float(f);
            }
            break;
        }
        case 10: edit_members(o, f, names); break;
        case 11: {
            uint8_t k = fz_u8(f) % 3;
            if (k == 0)
                b->crt_order ^= 1;
            else if (k == 1)
                b->latest ^= 1;
            else if (o)
                o->chunked ^= 1;
            break;
        }
        }
    }
}

/* ---- writing ---------------------------------------------------------------------- */

static hid_t str_type(int size, int pad, int vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (vlen) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, (size_t)(size > 0 ? size : 1));
    }
    H5Tset_strpad(t, pad == 1 ? H5T_STR_NULLPAD : pad == 2 ? H5T_STR_SPACEPAD : H5T_STR_NULLTERM);
    return t;
}

/* The file (= memory) type; -1 on failure. VLEN strings inside compounds become fixed. */
static hid_t make_type(h5b_type t, int strsize, int strpad, const char *sval, const h5b_obj *o)
{
    switch (t) {
    case H5B_I32: return H5Tcopy(H5T_STD_I32LE);
    case H5B_I64: return H5Tcopy(H5T_STD_I64LE);
    case H5B_I8: return H5Tcopy(H5T_STD_I8LE);
    case H5B_U8: return H5Tcopy(H5T_STD_U8LE);
    case H5B_U32: return H5Tcopy(H5T_STD_U32LE);
    case H5B_U64: return H5Tcopy(H5T_STD_U64LE);
    case H5B_F32: return H5Tcopy(H5T_IEEE_F32LE);
    case H5B_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case H5B_I16BE: return H5Tcopy(H5T_STD_I16BE);
    case H5B_F64BE: return H5Tcopy(H5T_IEEE_F64BE);
    case H5B_STR_FIXED:
        return str_type(strsize > 0 ? strsize : (int)strlen(sval) + 1, strpad, 0);
    case H5B_STR_VLEN: return o ? str_type(0, strpad, 1) : str_type(strsize > 0 ? strsize : 16, strpad, 0);
    case H5B_OPAQUE: {
        hid_t x = H5Tcreate(H5T_OPAQUE, 4);
        if (x >= 0)
            H5Tset_tag(x, "zoo-fuzz");
        return x;
    }
    case H5B_BITFIELD: return H5Tcopy(H5T_STD_B8LE);
    case H5B_ARRAY_I32: {
        hsize_t n = 3;
        return H5Tarray_create2(H5T_STD_I32LE, 1, &n);
    }
    case H5B_COMPOUND: {
        if (!o || !o->n_members)
            return -1;
        size_t size = 0;
        hid_t mt[H5B_MAX_MEMBERS];
        for (int i = 0; i < o->n_members; i++) {
            const h5b_member *m = &o->members[i];
            mt[i] = make_type(m->type, m->strsize, 0, o->sval, NULL);
            size += mt[i] >= 0 ? H5Tget_size(mt[i]) : 0;
        }
        hid_t c = H5Tcreate(H5T_COMPOUND, size ? size : 1);
        size_t off = 0;
        for (int i = 0; i < o->n_members; i++) {
            if (mt[i] < 0)
                continue;
            /* A repeated or empty member name is refused by HDF5: that member is left out. */
            if (c >= 0 && H5Tinsert(c, o->members[i].name, off, mt[i]) >= 0)
                off += H5Tget_size(mt[i]);
            H5Tclose(mt[i]);
        }
        if (c >= 0 && off && off < size)
            H5Tset_size(c, off);
        return c;
    }
    default: return -1;
    }
}

static int is_float(hid_t t) { return H5Tget_class(t) == H5T_FLOAT; }

/* One element of a number type at p (size bytes, the type's byte order). */
static void put_number(hid_t t, uint8_t *p, size_t size, int64_t v, double d)
{
    uint8_t tmp[8];
    if (is_float(t)) {
        if (size == 4) {
            float x = (float)d;
            memcpy(tmp, &x, 4);
        } else {
            memcpy(tmp, &d, 8);
        }
    } else {
        memcpy(tmp, &v, 8); /* little-endian host: the low bytes are the narrow value */
    }
    if (size > 8)
        size = 8;
    if (H5Tget_order(t) == H5T_ORDER_BE)
        for (size_t i = 0; i < size; i++)
            p[i] = tmp[size - 1 - i];
    else
        memcpy(p, tmp, size);
}

/* One element of a non-compound type at p. */
static void fill_one(hid_t t, H5T_class_t cls, size_t size, uint8_t *p, int64_t v, double d, const char *sval)
{
    switch (cls) {
    case H5T_INTEGER:
    case H5T_FLOAT:
    case H5T_BITFIELD: put_number(t, p, size, v, d); break;
    case H5T_STRING: strncpy((char *)p, sval, size); break;
    case H5T_ARRAY: {
        hid_t bt = H5Tget_super(t);
        size_t bs = H5Tget_size(bt);
        for (size_t k = 0; bs && k < size / bs; k++)
            put_number(bt, p + k * bs, bs, (int64_t)((uint64_t)v + k), d);
        H5Tclose(bt);
        break;
    }
    default: memset(p, (int)(v & 0xff), size); break;
    }
}

/* Fill n elements of type t at buf (strings: fixed only; vlen handled by the caller).
 * Element i holds base + (i * step) % mod; a compound's member m holds that + m, except
 * the first member, which holds base + i (the row id of zoo's tables). */
static void fill(hid_t t, uint8_t *buf, hsize_t n, const h5b_obj *o)
{
    size_t size = H5Tget_size(t);
    H5T_class_t cls = H5Tget_class(t);
    if (o->raw && o->nraw && cls != H5T_STRING) {
        for (hsize_t i = 0; i < n * size; i++)
            buf[i] = o->raw[i % o->nraw];
        return;
    }
    int nm = cls == H5T_COMPOUND ? H5Tget_nmembers(t) : 1;
    for (int m = 0; m < nm; m++) {
        hid_t mt = cls == H5T_COMPOUND ? H5Tget_member_type(t, (unsigned)m) : t;
        size_t off = cls == H5T_COMPOUND ? H5Tget_member_offset(t, (unsigned)m) : 0;
        H5T_class_t mcls = H5Tget_class(mt);
        size_t msize = H5Tget_size(mt);
        for (hsize_t i = 0; i < n; i++) {
            int64_t step = (int64_t)((uint64_t)o->step * (uint64_t)i);
            int64_t v = (int64_t)((uint64_t)o->base + (uint64_t)(o->mod > 0 ? step % o->mod : step));
            if (cls == H5T_COMPOUND) /* wrapping, as the values are meant to */
                v = (int64_t)(m ? (uint64_t)v + (uint64_t)m : (uint64_t)o->base + (uint64_t)i);
            fill_one(mt, mcls, msize, buf + i * size + off, v, o->fbase + o->fstep * (double)i, o->sval);
        }
        if (cls == H5T_COMPOUND)
            H5Tclose(mt);
    }
}

static hsize_t count_of(const h5b_obj *o)
{
    hsize_t n = 1;
    for (int i = 0; i < o->rank; i++)
        n *= o->dims[i];
    return n;
}

/* Write dataset or attribute `o` (already typed) with its values. */
static int write_values(hid_t obj, int is_attr, hid_t t, const h5b_obj *o, hsize_t n)
{
    if (H5Tis_variable_str(t) > 0) {
        char **v = malloc((size_t)(n ? n : 1) * sizeof *v);
        if (!v)
            return -1;
        for (hsize_t i = 0; i < n; i++)
            v[i] = (char *)o->sval;
        herr_t e = is_attr ? H5Awrite(obj, t, v) : H5Dwrite(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
        return e < 0 ? -1 : 0;
    }
    size_t size = H5Tget_size(t);
    uint8_t *buf = calloc((size_t)(n ? n : 1), size ? size : 1);
    if (!buf)
        return -1;
    fill(t, buf, n, o);
    herr_t e = is_attr ? H5Awrite(obj, t, buf) : H5Dwrite(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    free(buf);
    return e < 0 ? -1 : 0;
}

static void make_object(hid_t f, hid_t lcpl, const h5b *b, const h5b_obj *o)
{
    hid_t t = -1, sp = -1, d = -1, dcpl = -1, loc = -1;
    switch (o->kind) {
    case H5B_GROUP: {
        hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        if (b->crt_order)
            H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        hid_t g = H5Gcreate2(f, o->name, lcpl, gcpl, H5P_DEFAULT);
        if (g >= 0)
            H5Gclose(g);
        H5Pclose(gcpl);
        return;
    }
    case H5B_SOFTLINK: H5Lcreate_soft(o->target, f, o->name, lcpl, H5P_DEFAULT); return;
    case H5B_HARDLINK: H5Lcreate_hard(f, o->target, f, o->name, lcpl, H5P_DEFAULT); return;
    default: break;
    }
    hsize_t n = count_of(o);
    if ((t = make_type(o->type, o->strsize, o->strpad, o->sval, o)) < 0)
        goto done;
    sp = o->rank ? H5Screate_simple(o->rank, o->dims, NULL) : H5Screate(H5S_SCALAR);
    if (sp < 0)
        goto done;
    if (o->kind == H5B_ATTR) {
        if (o->parent < 0) {
            loc = H5Oopen(f, "/", H5P_DEFAULT);
        } else {
            const h5b_obj *p = &b->obj[o->parent];
            loc = p->live && p->kind != H5B_ATTR ? H5Oopen(f, p->name, H5P_DEFAULT) : -1;
        }
        if (loc < 0 || n > MAX_WRITTEN)
            goto done;
        if (H5Aexists(loc, o->name) > 0)
            H5Adelete(loc, o->name);
        hid_t acpl = H5Pcreate(H5P_ATTRIBUTE_CREATE);
        H5Pset_char_encoding(acpl, H5T_CSET_UTF8);
        hid_t a = H5Acreate2(loc, o->name, t, sp, acpl, H5P_DEFAULT);
        H5Pclose(acpl);
        if (a >= 0) {
            write_values(a, 1, t, o, n);
            H5Aclose(a);
        }
        goto done;
    }
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    if (b->crt_order)
        H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    int big = n > MAX_WRITTEN || n * H5Tget_size(t) > MAX_WRITTEN_BYTES;
    if ((o->chunked || big) && o->rank) {
        hsize_t chunk[H5B_MAX_RANK];
        for (int i = 0; i < o->rank; i++)
            chunk[i] = o->dims[i] ? (o->dims[i] < 64 ? o->dims[i] : 64) : 1;
        H5Pset_chunk(dcpl, o->rank, chunk);
    } else if (big) {
        goto done;
    }
    d = H5Dcreate2(f, o->name, t, sp, lcpl, dcpl, H5P_DEFAULT);
    if (d >= 0 && !big && n)
        write_values(d, 0, t, o, n);
done:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (loc >= 0)
        H5Oclose(loc);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
}

int h5b_write(const h5b *b, const char *path)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS), lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (b->crt_order) {
        H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    }
    H5Pset_obj_track_times(fcpl, 0);
    if (b->latest)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_char_encoding(lcpl, H5T_CSET_UTF8);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    int rc = f < 0 ? -1 : 0;
    /* Groups and datasets first, then links, then attributes: each finds its parent. */
    static const int order[][2] = {{H5B_GROUP, H5B_DATASET}, {H5B_SOFTLINK, H5B_HARDLINK}, {H5B_ATTR, H5B_ATTR}};
    for (int pass = 0; f >= 0 && pass < 3; pass++)
        for (int i = 0; i < b->n; i++) {
            const h5b_obj *o = &b->obj[i];
            if (o->live && o->name[0] && ((int)o->kind == order[pass][0] || (int)o->kind == order[pass][1]))
                make_object(f, lcpl, b, o);
        }
    if (f >= 0 && H5Fclose(f) < 0)
        rc = -1;
    H5Pclose(fcpl);
    H5Pclose(fapl);
    H5Pclose(lcpl);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}
