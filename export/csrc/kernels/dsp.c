/* Helpers of the DSP (SIMD) path, compiled only where USE_DSP is 1. */

#if USE_DSP
/* Four activation bytes as one word, at any alignment */
static inline uint32_t load_x4(const void *p)
{
    uint32_t v;
#if defined(__GNUC__)
    __builtin_memcpy(&v, p, 4);
#else
    const uint8_t *b = (const uint8_t *)p;
    v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
#endif
    return v;
}

/* Bytes 1 and 3 of a word, sign-extended to two halfwords (one SXTB16 with rotation) */
static inline int32_t sxtb16_ror8(uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return (int32_t)r;
#else
    return __sxtb16(__ror(v, 8));
#endif
}

/* Bytes 1 and 3 of a word, zero-extended to two halfwords (one UXTB16 with rotation) */
static inline int32_t uxtb16_ror8(uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return (int32_t)r;
#else
    return __uxtb16(__ror(v, 8));
#endif
}
#endif
