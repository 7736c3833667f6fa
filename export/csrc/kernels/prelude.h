/* Emitted at the top of every generated file: target detection shared by all kernels. */

/* Cortex-M4/M7/M33 SIMD path: little-endian ARM with the DSP extension, unless EDGEPORT_PORTABLE */
#if defined(__ARM_FEATURE_DSP) && !defined(__ARM_BIG_ENDIAN) && !defined(EDGEPORT_PORTABLE)
#define USE_DSP 1
#include <arm_acle.h>
#else
#define USE_DSP 0
#endif
