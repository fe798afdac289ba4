// Run-time CPU dispatch for the hot loops. setup.py and CMake build for the
// generic x86-64 target (the machine that runs the code may differ from the one
// that built it), so wider vectors are reached per function:
//   LC_CLONES            compile a function twice (Haswell: AVX2+FMA, and baseline)
//                        and let the loader pick one (GCC target_clones);
//   LC_TARGET_AVX2[_FMA] mark hand-vectorised functions, which callers reach
//                        only after __builtin_cpu_supports says the CPU has them.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LC_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LC_CLONES
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LC_X86_AVX2 1
#define LC_TARGET_AVX2 __attribute__((target("avx2")))
#define LC_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))
#endif
