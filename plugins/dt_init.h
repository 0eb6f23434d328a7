/* dt_init.h: the time-step bias init of Mamba's selective SSMs, shared by the plugins that
 * draw it (mamba with init=mamba, mamba2, gated_delta_net): dt = exp(U[ln dt_min,
 * ln dt_max]) floored at dt_floor, stored as its inverse softplus dt + ln(-expm1(-dt)), so
 * softplus(bias) starts at dt. */
#ifndef ZOO_PLUGIN_DT_INIT_H
#define ZOO_PLUGIN_DT_INIT_H

#include <math.h>

#include "zoo/mixer.h"

static inline void zoo_dt_bias_draw(float *x, int64_t n, zoo_rng *rng, double dt_min, double dt_max, double dt_floor)
{
    double lo = log(dt_min), hi = log(dt_max);
    for (int64_t i = 0; i < n; i++) {
        double dt = exp(zoo_rng_uniform(rng) * (hi - lo) + lo);
        if (dt < dt_floor)
            dt = dt_floor;
        x[i] = (float)(dt + log(-expm1(-dt)));
    }
}

/* The same as an init fill whose ctx is the layer's knob values (dt_min, dt_max,
 * dt_init_floor), which live as long as the model. */
static inline void zoo_dt_bias_fill_knobs(float *x, int64_t n, const int64_t *shape, int ndim, zoo_rng *rng,
                                          const void *ctx)
{
    (void)shape, (void)ndim;
    const zoo_hvals *h = ctx;
    zoo_dt_bias_draw(x, n, rng, zoo_hvals_float(h, "dt_min"), zoo_hvals_float(h, "dt_max"),
                     zoo_hvals_float(h, "dt_init_floor"));
}

#endif
