/* DEQUANTIZE to float32, as TFLite Micro: the product in double, then rounded to float. */

/* int8 -> float: scale * (q - zero_point) */
static void dequantize_s8(const int8_t *in, float *out, int n, int32_t zero_point, double scale)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = (float)(scale * (double)((int32_t)in[i] - zero_point));
    }
}

/* uint8 -> float: scale * (q - zero_point) */
static void dequantize_u8(const uint8_t *in, float *out, int n, int32_t zero_point, double scale)
{
    int i;
    for (i = 0; i < n; i++) {
        out[i] = (float)(scale * (double)((int32_t)in[i] - zero_point));
    }
}
