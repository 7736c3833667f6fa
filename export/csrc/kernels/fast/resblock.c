/*
 * A residual block as one kernel: out = ADD(conv_b(conv_a(x)), r), where r is x itself or a 1x1
 * projection conv of x. TFLite Micro runs it as three or four ops with every intermediate tensor
 * whole; here conv_a's output exists only as the k_h rows of it that the current conv_b row reads
 * (a window), conv_b's output only as one block of 4 pixels, the projection only as one row. Every
 * value is the int8 value TFLite Micro computes: the same convolutions, requantizations and ADD.
 * Output row y is written after its last read of x, so the generator may give out the storage of
 * x where it proves that no later read of x needs the bytes it overwrites.
 */

/*
 * A block's step function stays a function of its own on the portable and Helium paths: inlined
 * into invoke with the other steps, its three force-inlined convolutions ran 27% more instructions
 * on RV32IMC and 5% more on the M55 (MLPerf IC); the M4's DSP path is 1% faster inlined.
 */
#if defined(__GNUC__) && (!USE_DSP || USE_MVE)
#define EP_NOINLINE __attribute__((noinline))
#else
#define EP_NOINLINE
#endif

/* One int8 convolution of a fused block: its weights and tables, explicit dims and quantization */
struct ep_conv_layer {
    const uint32_t *weights;
    const int32_t *bias;
    const struct ep_requant *rq;
    int rq_step;
    int in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t in_offset, zero_point, act_min, act_max;
    int fast;
};

/*
 * Output row oy of conv c into row (out_w * out_c int8). The input is `in_h` rows from `in` and
 * rows outside them are padding; pad_h replaces c->pad_h (a window of rows starts elsewhere).
 * in_c is a multiple of 4 (no stage buffer).
 */
EP_INLINE void ep_conv_row(const struct ep_conv_layer *c, const int8_t *in, int in_h, int oy, int pad_h, int8_t *row,
                           int16_t *buf)
{
    const int k4 = (c->k_h * c->k_w * c->in_c + 3) & ~3;
    int ox, slot = 0;
    for (ox = 0; ox < c->out_w; ox++) {
        ep_gather(buf, NULL, slot, in, oy, ox, in_h, c->in_w, c->in_c, c->k_h, c->k_w, c->stride_h, c->stride_w, pad_h,
                  c->pad_w, c->in_offset, 0);
        if (++slot == EP_PIXELS) {
            ep_block(buf, c->weights, c->bias, c->rq, c->rq_step, k4, c->out_c,
                     row + (size_t)(ox + 1 - EP_PIXELS) * c->out_c, c->out_c, EP_PIXELS, c->zero_point, c->act_min,
                     c->act_max, c->fast, c->in_offset);
            slot = 0;
        }
    }
    if (slot > 0) {
        ep_zero_slots(buf, slot, k4);
        ep_block(buf, c->weights, c->bias, c->rq, c->rq_step, k4, c->out_c, row + (size_t)(c->out_w - slot) * c->out_c,
                 c->out_c, slot, c->zero_point, c->act_min, c->act_max, c->fast, c->in_offset);
    }
}

/* n bytes (a multiple of 4) from src down to dst < src, word by word (the ranges may overlap) */
EP_INLINE void ep_move_down(int8_t *dst, const int8_t *src, int n)
{
    int i;
    for (i = 0; i < n; i += 4) {
        uint32_t v;
        __builtin_memcpy(&v, src + i, 4);
        __builtin_memcpy(dst + i, &v, 4);
    }
}

/*
 * The block. buf: the patch buffer of the largest of the convs; window: b->k_h rows of conv_a's
 * output; tmp: EP_PIXELS * b->out_c; proj_row: one row of the projection (NULL without one; then
 * r is x, of out's shape). The ADD: tables of conv_b's output and of r (see ep_add_s8), then its
 * output requantization. Row y: conv_a rows up to the last one conv_b row y reads, the projection
 * row, then conv_b in blocks of 4 pixels, each added to r and stored.
 */
EP_INLINE void ep_resblock_s8(const int8_t *x, int8_t *out, int16_t *buf, int8_t *window, int8_t *tmp, int8_t *proj_row,
                              const struct ep_conv_layer *a, const struct ep_conv_layer *b,
                              const struct ep_conv_layer *proj, const int32_t *b_table, const int32_t *r_table,
                              int32_t out_mult, int32_t out_shift, int32_t round, int32_t zero_point, int32_t act_min,
                              int32_t act_max, int fast)
{
    const int a_row = a->out_w * a->out_c, o_row = b->out_w * b->out_c;
    const int k4 = (b->k_h * b->k_w * b->in_c + 3) & ~3;
    int lo = 0, hi = 0, y, ox, slot;
    for (y = 0; y < b->out_h; y++) {
        const int first = y * b->stride_h - b->pad_h;
        const int want_lo = first < 0 ? 0 : first;
        const int want_hi = first + b->k_h > a->out_h ? a->out_h : first + b->k_h;
        const int8_t *r;
        int8_t *o = out + (size_t)y * o_row;
        if (want_lo >= hi) { /* no row of the window is read again */
            lo = hi = want_lo;
        } else if (want_lo > lo) {
            ep_move_down(window, window + (size_t)(want_lo - lo) * a_row, (hi - want_lo) * a_row);
            lo = want_lo;
        }
        for (; hi < want_hi; hi++) {
            ep_conv_row(a, x, a->in_h, hi, a->pad_h, window + (size_t)(hi - lo) * a_row, buf);
        }
        if (proj != NULL) {
            ep_conv_row(proj, x, proj->in_h, y, proj->pad_h, proj_row, buf);
            r = proj_row;
        } else {
            r = x + (size_t)y * o_row;
        }
        slot = 0;
        for (ox = 0; ox < b->out_w; ox++) {
            ep_gather(buf, NULL, slot, window, 0, ox, hi - lo, b->in_w, b->in_c, b->k_h, b->k_w, 1, b->stride_w,
                      lo - first, b->pad_w, b->in_offset, 0);
            if (++slot == EP_PIXELS || ox + 1 == b->out_w) {
                const int at = (ox + 1 - slot) * b->out_c, n = slot * b->out_c;
                if (slot < EP_PIXELS) {
                    ep_zero_slots(buf, slot, k4);
                }
                ep_block(buf, b->weights, b->bias, b->rq, b->rq_step, k4, b->out_c, tmp, b->out_c, slot, b->zero_point,
                         b->act_min, b->act_max, b->fast, b->in_offset);
                ep_add_s8(tmp, r + at, o + at, n, b_table, r_table, out_mult, out_shift, round, zero_point, act_min,
                          act_max, fast);
                slot = 0;
            }
        }
    }
}
