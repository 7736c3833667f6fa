/*
 * ADD of two int8 tensors of the same shape, exactly as TFLite Micro:
 *   raw = SRDHM((a + a_offset) << 20, a_mult) / 2^a_shift + (the same for b),
 *   out = clamp(RDBPOT(SRDHM(raw, out_mult), out_shift) + out_zero_point).
 * Each input's term depends on its int8 value alone, so the generator tabulates it (256 int32 per
 * input, index value + 128); the kernel adds two table entries and requantizes the sum once.
 * Element by element, so out may be a or b (in place).
 */
EP_INLINE void ep_add_s8(const int8_t *a, const int8_t *b, int8_t *out, int n, const int32_t *a_table,
                         const int32_t *b_table, int32_t out_mult, int32_t out_shift, int32_t round, int32_t zero_point,
                         int32_t act_min, int32_t act_max, int fast)
{
    const int32_t *ta = a_table + 128, *tb = b_table + 128;
    int i;
    for (i = 0; i < n; i++) {
        const int32_t raw = ta[a[i]] + tb[b[i]];
        int32_t v;
#if USE_DSP
        if (fast) { /* the tables hold 2 * term, so SMMLAR gives SRDHM (see ep_requant) */
            v = ep_smmlar(raw, out_mult, round + (raw >> 31)) >> -out_shift;
        } else {
            v = ep_rdbpot(ep_srdhm(raw / 2, out_mult), -out_shift) + zero_point;
        }
#else
        (void)fast;
        (void)round;
        v = ep_rdbpot(ep_srdhm(raw / 2, out_mult), -out_shift) + zero_point;
#endif
        out[i] = (int8_t)ep_clamp(v, act_min, act_max);
    }
}
