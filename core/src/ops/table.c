/* table.c: every op of the core, for support reports (which ops a backend implements)
 * and the backend comparison tests. A new op file adds its definition here; the
 * elementwise ops come from the table in unary.h. */
#include "../internal.h"
#include "unary.h"

extern const zoo_op_def zoo_op_add,
    zoo_op_attention,
    zoo_op_ce_head,
    zoo_op_concat,
    zoo_op_dropout,
    zoo_op_embedding,
    zoo_op_fftconv,
    zoo_op_gelu,
    zoo_op_head_contract,
    zoo_op_head_outer,
    zoo_op_layernorm,
    zoo_op_linear,
    zoo_op_linear_attention,
    zoo_op_mul,
    zoo_op_reshape,
    zoo_op_rmsnorm,
    zoo_op_scale,
    zoo_op_selective_scan,
    zoo_op_shortconv,
    zoo_op_slice,
    zoo_op_s4d_dtA,
    zoo_op_s4d_kernel,
    zoo_op_ssm_shift_kernel,
    zoo_op_transpose,
    zoo_op_wkv;

const zoo_op_def *const zoo_op_table[] = {
    &zoo_op_add,
    &zoo_op_attention,
    &zoo_op_ce_head,
    &zoo_op_concat,
    &zoo_op_dropout,
    &zoo_op_embedding,
    &zoo_op_fftconv,
    &zoo_op_gelu,
    &zoo_op_head_contract,
    &zoo_op_head_outer,
    &zoo_op_layernorm,
    &zoo_op_linear,
    &zoo_op_linear_attention,
    &zoo_op_mul,
    &zoo_op_reshape,
    &zoo_op_rmsnorm,
    &zoo_op_scale,
    &zoo_op_selective_scan,
    &zoo_op_shortconv,
    &zoo_op_slice,
    &zoo_op_s4d_dtA,
    &zoo_op_s4d_kernel,
    &zoo_op_ssm_shift_kernel,
    &zoo_op_transpose,
    &zoo_op_wkv,
#define UNARY_ENTRY(name, f, df) &zoo_op_##name,
    ZOO_UNARY_OPS(UNARY_ENTRY)
#undef UNARY_ENTRY
    NULL,
};
