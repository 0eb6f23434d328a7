# ZOO_FUZZ=ON: the libFuzzer harnesses of tests/fuzz (docs/fuzzing.md). libFuzzer comes
# with clang only, so another compiler stops configuration here, before anything builds.
# Every C target of the build gets the fuzzer's coverage instrumentation and ASan/UBSan,
# libzoo and zoo_io included: a bug the harnesses reach inside them is reported, not
# just one in a harness (the plugins keep only the sanitizers: tests/fuzz says why).
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ZOO_FUZZ=ON needs clang (libFuzzer ships with it), but the C compiler is "
    "${CMAKE_C_COMPILER_ID} (${CMAKE_C_COMPILER}): configure a separate build folder with "
    "-DCMAKE_C_COMPILER=clang (Debian: apt-get install clang libclang-rt-14-dev)")
endif()
if(NOT ZOO_BUILD_TESTS)
  message(FATAL_ERROR "ZOO_FUZZ=ON needs ZOO_BUILD_TESTS=ON: the harnesses are in tests/fuzz")
endif()
# The harnesses run on the CPU; nvcc code cannot take the instrumentation.
if(ZOO_WITH_CUDA STREQUAL "AUTO")
  set(ZOO_WITH_CUDA OFF)
elseif(ZOO_WITH_CUDA)
  message(FATAL_ERROR "ZOO_FUZZ=ON builds without the CUDA backend: use -DZOO_WITH_CUDA=OFF")
endif()
# The instrumentation keeps clang from vectorizing `omp simd` loops, which it reports
# as a warning (-Wpass-failed): expected here, and no sign of a problem in the code.
add_compile_options($<$<COMPILE_LANGUAGE:C>:-fsanitize=fuzzer-no-link,address,undefined$<SEMICOLON>-fno-omit-frame-pointer$<SEMICOLON>-fno-sanitize-recover=undefined$<SEMICOLON>-Wno-pass-failed>)
add_link_options($<$<LINK_LANGUAGE:C>:-fsanitize=address,undefined>)
