/* CRC-32 of the constant tables, checked by <prefix>_verify(). */

/* One byte into a CRC-32 (IEEE 802.3, reflected), four bits at a time */
static inline uint32_t crc32_step(uint32_t crc, uint32_t byte)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
        0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu, 0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu
    };
    crc ^= byte & 0xffu;
    crc = (crc >> 4) ^ nibble[crc & 15u];
    return (crc >> 4) ^ nibble[crc & 15u];
}

/* CRC-32 (IEEE 802.3) of n bytes; volatile so the compiler cannot fold it at build time */
static uint32_t crc32_bytes(const volatile uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    for (i = 0; i < n; i++) {
        crc = crc32_step(crc, p[i]);
    }
    return ~crc;
}

/* One 32-bit word into a CRC-32, least significant byte first (the same on any byte order) */
static inline uint32_t crc32_word(uint32_t crc, uint32_t w)
{
    int b;
    for (b = 0; b < 32; b += 8) {
        crc = crc32_step(crc, w >> b);
    }
    return crc;
}

/* CRC-32 of n 32-bit words, each least significant byte first */
static uint32_t crc32_words(const volatile uint32_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    for (i = 0; i < n; i++) {
        crc = crc32_word(crc, p[i]);
    }
    return ~crc;
}

/* CRC-32 of n 32-bit signed integers: their two's complement words (C lets uint32_t read int32_t) */
static uint32_t crc32_ints(const volatile int32_t *p, size_t n)
{
    return crc32_words((const volatile uint32_t *)p, n);
}

/* CRC-32 of the IEEE-754 bit patterns of n floats */
static uint32_t crc32_floats(const volatile float *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    for (i = 0; i < n; i++) {
        union { float f; uint32_t u; } v;
        v.f = p[i];
        crc = crc32_word(crc, v.u);
    }
    return ~crc;
}
