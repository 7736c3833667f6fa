/* Shared by the float32 kernels. */

/* Clamp a float to the activation range */
static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}
