/* Minimal use of the generated model: check the weights in flash, then run one inference.
 * The input here is all zeros; put a real sample (@PREFIX_UPPER@_INPUT_SIZE elements) in its place. */
#include <stdint.h>
#include <stdio.h>

#include "@BASE@.h"

static @PREFIX@_input_t input[@PREFIX_UPPER@_INPUT_SIZE];
static @PREFIX@_output_t output[@PREFIX_UPPER@_OUTPUT_SIZE];
/* caller-owned working memory, 4-byte aligned */
static uint32_t scratch[(@PREFIX_UPPER@_SCRATCH_BYTES + 3u) / 4u + 1u];

int main(void)
{
    if (@PREFIX@_verify() != 0) {
        printf("weights damaged: do not run the model\n");
        return 1;
    }
    if (@PREFIX@_invoke(input, output, scratch) != 0) {
        printf("invoke failed\n");
        return 1;
    }
    int best = 0;
    for (int i = 1; i < @PREFIX_UPPER@_OUTPUT_SIZE; i++) {
        if (output[i] > output[best]) {
            best = i;
        }
    }
    printf("%s\n", @PREFIX@_class_names[best]);
    return 0;
}
