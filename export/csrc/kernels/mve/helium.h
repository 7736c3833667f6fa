/* Helium (the M-profile Vector Extension of the Cortex-M55/M85): detection and requantization. */

/* Helium path: integer MVE on a little-endian core, unless EDGEPORT_PORTABLE */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(__ARM_BIG_ENDIAN) && !defined(EDGEPORT_PORTABLE)
#define USE_MVE 1
#include <arm_mve.h>
#else
#define USE_MVE 0
#endif

#if USE_MVE
/*
 * requant() of four accumulators at once, the same integers as TFLite Micro: VQRDMULH is gemmlowp's
 * SaturatingRoundingDoublingHighMul; VRSHL by -exponent rounds ties up, so negative values are first
 * lowered by one (where exponent > 0) to round ties away from zero, as RoundingDivideByPOT does.
 * Lanes outside `live` load nothing from multiplier and shift.
 */
static inline int32x4_t requant4_mve(int32x4_t acc, const int32_t *multiplier, const int8_t *shift,
                                     mve_pred16_t live, int32_t zero_point, int32_t act_min, int32_t act_max)
{
    const int32x4_t m = vldrwq_z_s32(multiplier, live);
    const int32x4_t s = vldrbq_z_s32(shift, live);
    const int32x4_t right = vminq_s32(s, vdupq_n_s32(0)); /* minus the exponent of the division */
    int32x4_t v = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(s, vdupq_n_s32(0))), m);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31));
    v = vaddq_s32(vrshlq_s32(v, right), vdupq_n_s32(zero_point));
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}
#endif
