/*
 * Building blocks of the fast int8 kernels.
 * Needs <stdint.h> and USE_DSP (1 on Cortex-M4/M7 with the DSP extension, arm_acle.h included).
 * The kernels are force-inlined into each op's function, so the compiler specialises them to the
 * op's constant sizes and quantization (the generator passes literals).
 */
#if defined(__GNUC__)
#define EP_INLINE static inline __attribute__((always_inline, unused))
#define EP_UNROLL2 _Pragma("GCC unroll 2")
#else
#define EP_INLINE static inline
#define EP_UNROLL2
#endif

/* Four bytes as one little-endian word, at any alignment (one LDR on Cortex-M4) */
EP_INLINE uint32_t ep_load_any(const int8_t *p)
{
#if USE_DSP && defined(__GNUC__)
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)(uint8_t)p[0] | ((uint32_t)(uint8_t)p[1] << 8) | ((uint32_t)(uint8_t)p[2] << 16) |
           ((uint32_t)(uint8_t)p[3] << 24);
#endif
}

#if USE_DSP
/* A word to four bytes at any alignment (one STR on Cortex-M4) */
EP_INLINE void ep_store_any(int8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

/* Four int8 values as one word, at any alignment (one LDR on Cortex-M4) */
EP_INLINE uint32_t ep_load4(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* Two words at p (4-byte aligned) with one LDRD; p advances by 8 */
EP_INLINE void ep_ldrd(const uint32_t **p, uint32_t *lo, uint32_t *hi)
{
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(*lo), "=r"(*hi), "+r"(*p) : "m"(*(const uint32_t(*)[2]) * p));
}

/* Bytes 1 and 3 of v, sign-extended to halfwords */
EP_INLINE uint32_t ep_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* Bytes 1 and 3 of v, zero-extended to halfwords */
EP_INLINE uint32_t ep_uxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* Halfwords of a plus bytes 1 and 3 of v, sign-extended */
EP_INLINE uint32_t ep_sxtab16_ror8(uint32_t a, uint32_t v)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}

/* Halfwords of a plus bytes 1 and 3 of v, zero-extended */
EP_INLINE uint32_t ep_uxtab16_ror8(uint32_t a, uint32_t v)
{
    uint32_t r;
    __asm__("uxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}

/* acc + (a * b + 2^31) / 2^32, the rounded high word of the product */
EP_INLINE int32_t ep_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* Low halfword of lo, high halfword from the low halfword of hi */
EP_INLINE uint32_t ep_pkhbt(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
#endif
