/* Data movement without arithmetic: PAD and CONCATENATION, for any element type. */

/* A 4-D PAD: input dims, elements added before each dimension, output dims (outermost first) */
struct pad4 {
    int in_dims[4], before[4], out_dims[4];
};

/* Copy n bytes */
static inline void copy_bytes(unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        dst[i] = src[i];
    }
}

/* PAD: every output element of elem_size bytes is the input element it covers, or *value */
static void pad_any(const void *in, void *out, const struct pad4 *p, size_t elem_size, const void *value)
{
    const unsigned char *x = (const unsigned char *)in;
    unsigned char *y = (unsigned char *)out;
    const size_t row = (size_t)p->in_dims[3] * elem_size;
    int i0, i1, i2, i3;
    for (i0 = 0; i0 < p->out_dims[0]; i0++) {
        for (i1 = 0; i1 < p->out_dims[1]; i1++) {
            for (i2 = 0; i2 < p->out_dims[2]; i2++) {
                const int j0 = i0 - p->before[0], j1 = i1 - p->before[1], j2 = i2 - p->before[2];
                const int inside = j0 >= 0 && j0 < p->in_dims[0] && j1 >= 0 && j1 < p->in_dims[1] &&
                                   j2 >= 0 && j2 < p->in_dims[2];
                for (i3 = 0; i3 < p->out_dims[3]; i3++) {
                    if (inside && i3 == p->before[3]) { /* the input row, in one piece */
                        const size_t at = (((size_t)j0 * p->in_dims[1] + j1) * p->in_dims[2] + j2) * row;
                        copy_bytes(y, x + at, row);
                        y += row;
                        i3 += p->in_dims[3] - 1;
                    } else {
                        copy_bytes(y, (const unsigned char *)value, elem_size);
                        y += elem_size;
                    }
                }
            }
        }
    }
}

/* CONCATENATION, one input: outer blocks of block bytes, written every stride bytes of the output */
static void concat_copy(const void *in, void *out, int outer, size_t block, size_t stride)
{
    const unsigned char *x = (const unsigned char *)in;
    unsigned char *y = (unsigned char *)out;
    int i;
    for (i = 0; i < outer; i++) {
        copy_bytes(y + (size_t)i * stride, x + (size_t)i * block, block);
    }
}
