/* gemmlowp's fixed-point exp and reciprocal, used by the int8 SOFTMAX, LOGISTIC and TANH kernels. */

/* gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: saturating x << exponent */
static int32_t sat_shl(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp exp_on_negative_values: exp(a) for a <= 0 in Q(integer_bits), result in Q0.31 */
static int32_t exp_on_negative(int32_t a, int integer_bits)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fraction_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fraction_bits - 2);
    const int32_t a_mod = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod - a;
    /* Taylor series of exp around -1/8 for the part in [-1/4, 0) */
    const int32_t x = sat_shl(a_mod, integer_bits) + (1 << 28);
    const int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
    const int32_t poly = rdbpot(srdhm(rdbpot(x4, 2) + x3, 715827883) + x2, 1);
    const int32_t exp_minus_one_eighth = 1895147668;
    int32_t result = exp_minus_one_eighth + srdhm(exp_minus_one_eighth, x + poly);
    int k;
    for (k = -2; k <= 4; k++) {
        if (integer_bits > k && (remainder & ((int32_t)1 << (fraction_bits + k))) != 0) {
            result = srdhm(result, barrel[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* Newton-Raphson 2 / (1 + a) for a in Q0.31 [0, 1), result in Q2.29 (gemmlowp's division step) */
static int32_t two_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t one_q2 = 1 << 29;
    int32_t x = 1515870810 + srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t error = one_q2 - srdhm(half_denominator, x);
        x = x + sat_shl(srdhm(x, error), 2);
    }
    return x;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a), Q0.31 in and out */
static int32_t one_over_one_plus_x(int32_t a)
{
    return sat_shl(two_over_one_plus_x(a), 1);
}

/* gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a), Q0.31 in and out */
static int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    return sat_shl(two_over_one_plus_x(a) - (1 << 29), 2);
}
