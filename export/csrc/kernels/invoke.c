/* Argument checks of <prefix>_invoke. */

/* 1 if the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte; empty ranges share none */
static int buffers_overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
    const uintptr_t x = (uintptr_t)a;
    const uintptr_t y = (uintptr_t)b;
    if (a_bytes == 0 || b_bytes == 0) {
        return 0;
    }
    return x < y + b_bytes && y < x + a_bytes;
}
