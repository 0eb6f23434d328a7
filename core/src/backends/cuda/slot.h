/* slot.h: an op file's CUDA entry. ZOO_CUDA_DECLARE(name) at file scope declares the
 * kernels core/src/backends/cuda/<name>.cu defines (zoo_cuda_<name>_prepare, _forward,
 * _backward); ZOO_CUDA_SLOT(name) inside the op definition fills the CUDA slot with
 * them (ZOO_CUDA_SLOT_NOPREP: no prepare hook). In a build without the CUDA backend
 * both expand to nothing and the slot stays empty. */
#ifndef ZOO_CUDA_SLOT_H
#define ZOO_CUDA_SLOT_H

#ifdef ZOO_HAVE_CUDA_BACKEND
#define ZOO_CUDA_DECLARE(name)                                                             \
    int zoo_cuda_##name##_prepare(zoo_exec *x, zoo_tensor *t);                             \
    int zoo_cuda_##name##_forward(zoo_exec *x, zoo_tensor *t);                             \
    int zoo_cuda_##name##_backward(zoo_exec *x, zoo_tensor *t);
#define ZOO_CUDA_SLOT(name)                                                                \
    , [ZOO_BACKEND_CUDA] = {zoo_cuda_##name##_prepare, zoo_cuda_##name##_forward, zoo_cuda_##name##_backward}
#define ZOO_CUDA_SLOT_NOPREP(name) , [ZOO_BACKEND_CUDA] = {NULL, zoo_cuda_##name##_forward, zoo_cuda_##name##_backward}
#else
#define ZOO_CUDA_DECLARE(name)
#define ZOO_CUDA_SLOT(name)
#define ZOO_CUDA_SLOT_NOPREP(name)
#endif

#endif
