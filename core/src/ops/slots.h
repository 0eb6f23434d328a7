/* slots.h: ops that give each OpenMP thread its own work buffer (FFT scratch, partial
 * sums) size their parallel regions with these, so a thread id always indexes a
 * buffer that exists, with or without OpenMP. */
#ifndef ZOO_OPS_SLOTS_H
#define ZOO_OPS_SLOTS_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Threads to use for a region that indexes `slots` per-thread work buffers. */
static inline int zoo_slot_threads(int64_t slots)
{
#ifdef _OPENMP
    int n = omp_get_max_threads();
    return n < slots ? n : (int)slots;
#else
    (void)slots;
    return 1;
#endif
}

static inline int zoo_slot_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#endif
