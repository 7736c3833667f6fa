/* ADD, SUB and MUL with broadcasting: int8 as TFLite Micro's reference kernels, and float32. */

/* Quantization of one int8 element-wise op (TFLite ArithmeticParams) */
struct arith_params {
    int32_t in1_offset, in2_offset, left_shift;
    int32_t in1_multiplier, in2_multiplier, out_multiplier;
    int in1_shift, in2_shift, out_shift;
    int32_t out_offset, act_min, act_max;
};

/* An element-wise op's 4-D output shape (outermost first) and each input's strides in elements:
   0 along a dimension it is broadcast over */
struct broadcast4 {
    int dims[4];
    int stride1[4], stride2[4];
};

enum { ARITH_ADD, ARITH_SUB, ARITH_MUL };

/* One int8 result of ADD, SUB (inputs rescaled to a common scale, 20 bits of headroom) or MUL */
ALWAYS_INLINE int8_t arith_s8(int32_t x, int32_t y, const struct arith_params *p, int op)
{
    int32_t v;
    if (op == ARITH_MUL) {
        v = mbqm((x + p->in1_offset) * (y + p->in2_offset), p->out_multiplier, p->out_shift);
    } else {
        const int32_t a = mbqm((x + p->in1_offset) * (1 << p->left_shift), p->in1_multiplier, p->in1_shift);
        const int32_t b = mbqm((y + p->in2_offset) * (1 << p->left_shift), p->in2_multiplier, p->in2_shift);
        v = mbqm(op == ARITH_SUB ? a - b : a + b, p->out_multiplier, p->out_shift);
    }
    v += p->out_offset;
    v = v < p->act_min ? p->act_min : v;
    v = v > p->act_max ? p->act_max : v;
    return (int8_t)v;
}

/* Walk the 4-D output, reading each input at its broadcast position */
ALWAYS_INLINE void broadcast_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const struct arith_params *p,
                                const struct broadcast4 *b, int op)
{
    const int *s1 = b->stride1, *s2 = b->stride2;
    int i0, i1, i2, i3;
    for (i0 = 0; i0 < b->dims[0]; i0++) {
        for (i1 = 0; i1 < b->dims[1]; i1++) {
            for (i2 = 0; i2 < b->dims[2]; i2++) {
                const int8_t *x = in1 + (size_t)i0 * s1[0] + (size_t)i1 * s1[1] + (size_t)i2 * s1[2];
                const int8_t *y = in2 + (size_t)i0 * s2[0] + (size_t)i1 * s2[1] + (size_t)i2 * s2[2];
                for (i3 = 0; i3 < b->dims[3]; i3++) {
                    *out++ = arith_s8(x[(size_t)i3 * s1[3]], y[(size_t)i3 * s2[3]], p, op);
                }
            }
        }
    }
}

/* ADD, int8 (broadcast_s8) */
static void add_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const struct arith_params *p,
                   const struct broadcast4 *b)
{
    broadcast_s8(in1, in2, out, p, b, ARITH_ADD);
}

/* SUB, int8 (broadcast_s8) */
static void sub_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const struct arith_params *p,
                   const struct broadcast4 *b)
{
    broadcast_s8(in1, in2, out, p, b, ARITH_SUB);
}

/* MUL, int8 (broadcast_s8) */
static void mul_s8(const int8_t *in1, const int8_t *in2, int8_t *out, const struct arith_params *p,
                   const struct broadcast4 *b)
{
    broadcast_s8(in1, in2, out, p, b, ARITH_MUL);
}

/* Walk the 4-D output of a float element-wise op; clamp to the activation range */
ALWAYS_INLINE void broadcast_f32(const float *in1, const float *in2, float *out, const struct broadcast4 *b,
                                 float act_min, float act_max, int op)
{
    const int *s1 = b->stride1, *s2 = b->stride2;
    int i0, i1, i2, i3;
    for (i0 = 0; i0 < b->dims[0]; i0++) {
        for (i1 = 0; i1 < b->dims[1]; i1++) {
            for (i2 = 0; i2 < b->dims[2]; i2++) {
                const float *x = in1 + (size_t)i0 * s1[0] + (size_t)i1 * s1[1] + (size_t)i2 * s1[2];
                const float *y = in2 + (size_t)i0 * s2[0] + (size_t)i1 * s2[1] + (size_t)i2 * s2[2];
                for (i3 = 0; i3 < b->dims[3]; i3++) {
                    const float u = x[(size_t)i3 * s1[3]], v = y[(size_t)i3 * s2[3]];
                    *out++ = clampf(op == ARITH_ADD ? u + v : (op == ARITH_SUB ? u - v : u * v), act_min, act_max);
                }
            }
        }
    }
}

/* ADD, float (broadcast_f32) */
static void add_f32(const float *in1, const float *in2, float *out, const struct broadcast4 *b, float act_min,
                    float act_max)
{
    broadcast_f32(in1, in2, out, b, act_min, act_max, ARITH_ADD);
}

/* SUB, float (broadcast_f32) */
static void sub_f32(const float *in1, const float *in2, float *out, const struct broadcast4 *b, float act_min,
                    float act_max)
{
    broadcast_f32(in1, in2, out, b, act_min, act_max, ARITH_SUB);
}

/* MUL, float (broadcast_f32) */
static void mul_f32(const float *in1, const float *in2, float *out, const struct broadcast4 *b, float act_min,
                    float act_max)
{
    broadcast_f32(in1, in2, out, b, act_min, act_max, ARITH_MUL);
}
