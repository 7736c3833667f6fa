/* Shapes and quantization of one convolution or pooling op, passed to its kernel. */

/* Shapes and quantization of one convolution or pooling op (NHWC, batch 1) */
struct conv_params {
    int in_h, in_w, in_c, out_h, out_w, out_c;
    int k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, depth_multiplier;
    int32_t in_offset, out_zero_point, act_min, act_max;
};

/* Shapes of one float convolution or pooling op (NHWC, batch 1) and its activation range */
struct fconv_params {
    int in_h, in_w, in_c, out_h, out_w, out_c;
    int k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, depth_multiplier;
    float act_min_f, act_max_f;
};
