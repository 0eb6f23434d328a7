/* fftconv.h: the fftconv node's integer parameters, shared by its CPU kernels
 * (fftconv.c) and its CUDA kernels (backends/cuda/fftconv.cu). A graph runs one backend,
 * so only that backend's prepare hook fills the plan slots:
 *   CPU:  IP_PLAN = index of the FFTW plan pair, IP_SLOTS = work slots (threads),
 *         IP_STRIDE = floats per work slot;
 *   CUDA: IP_PLAN = the R2C cuFFT handle, IP_PLAN_C2R = the C2R cuFFT handle. */
#ifndef ZOO_OPS_FFTCONV_H
#define ZOO_OPS_FFTCONV_H

enum { IP_PATH = 0, IP_G, IP_PLAN, IP_SLOTS, IP_STRIDE, IP_PLAN_C2R };

#endif
