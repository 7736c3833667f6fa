/* FULLY_CONNECTED (and CONV_2D through it) on Helium: vector multiply-accumulate across 16 inputs. */

#if USE_MVE
/*
 * ep_fc_s8 on Helium, same packed weights and the same integers. Per group of 4 rows, 16 columns
 * per step: VLD4 de-interleaves 16 packed words (4 column blocks x 4 rows) into one vector of 16
 * weights per row, and VMLADAVA multiplies them with 16 inputs and adds the 16 products to the
 * row's accumulator. uint8 inputs are flipped to int8 (x - 128) and 128 times the rows' weight
 * sums added back. Leftover column blocks go through ep_fc_block; the 4 rows are requantized together.
 */
ALWAYS_INLINE void fc_rows_mve(const void *in, int in_u8, int8_t *out, const uint32_t *weights, const int32_t *bias,
                               const int32_t *multiplier, const int8_t *shift, int cols, int rows,
                               int32_t out_zero_point, int32_t act_min, int32_t act_max)
{
    const int blocks = cols / 4, tail = cols % 4, words = (cols + 3) / 4, chunks = blocks / 4;
    int r, b;
    for (r = 0; r < rows; r += 4) {
        const uint32_t *wp = weights + (size_t)r * (size_t)words;
        const int8_t *xp = (const int8_t *)in;
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* weight sums, for uint8 input */
        for (b = 0; b < chunks; b++, wp += 16, xp += 16) {
            const uint32x4x4_t w = vld4q_u32(wp);
            const int8x16_t w0 = vreinterpretq_s8_u32(w.val[0]), w1 = vreinterpretq_s8_u32(w.val[1]);
            const int8x16_t w2 = vreinterpretq_s8_u32(w.val[2]), w3 = vreinterpretq_s8_u32(w.val[3]);
            int8x16_t x;
            if (in_u8) {
                x = vreinterpretq_s8_u8(veorq_u8(vldrbq_u8((const uint8_t *)xp), vdupq_n_u8(0x80)));
                s0 = vaddvaq_s8(s0, w0);
                s1 = vaddvaq_s8(s1, w1);
                s2 = vaddvaq_s8(s2, w2);
                s3 = vaddvaq_s8(s3, w3);
            } else {
                x = vldrbq_s8(xp);
            }
            a0 = vmladavaq_s8(a0, x, w0);
            a1 = vmladavaq_s8(a1, x, w1);
            a2 = vmladavaq_s8(a2, x, w2);
            a3 = vmladavaq_s8(a3, x, w3);
        }
        a0 += 128 * s0;
        a1 += 128 * s1;
        a2 += 128 * s2;
        a3 += 128 * s3;
        for (b = chunks * 4; b < blocks; b++, wp += 4, xp += 4) {
            ep_fc_block(xp, 4, wp, in_u8, &a0, &a1, &a2, &a3);
        }
        if (tail > 0) {
            ep_fc_block(xp, tail, wp, in_u8, &a0, &a1, &a2, &a3);
        }
        {
            const mve_pred16_t live = vctp32q((uint32_t)(rows - r)); /* the last group may be partial */
            int32x4_t acc = vdupq_n_s32(a0);
            acc = vsetq_lane_s32(a1, acc, 1);
            acc = vsetq_lane_s32(a2, acc, 2);
            acc = vsetq_lane_s32(a3, acc, 3);
            vstrbq_p_s32(out + r, requant4_mve(acc, multiplier + r, shift + r, live, out_zero_point, act_min, act_max),
                         live);
        }
    }
}
#endif
