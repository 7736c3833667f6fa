/* Semihosting harness: runs a generated model on the emulated Cortex-M4 and measures it.
 *
 * Build with -DEP_HEADER='"model.int8.h"' -DEP_PREFIX=edgeport_model -DEP_PREFIX_UPPER=EDGEPORT_MODEL.
 * Files, relative to QEMU's working directory:
 *   inputs.bin        N input vectors, INPUT_SIZE elements each (read until the file ends);
 *   outputs.bin       N output vectors, written as the model produced them;
 *   instructions.bin  N uint64 (little-endian): instructions of each invoke, minus the timer's
 *                     own overhead (SysTick under -icount shift=0: 1 tick = 40 instructions);
 * stdout gets one `edgeport-mcu: key=value ...` summary line for the driver to parse.
 * Peak stack: the stack is painted before each invoke and scanned after it. An invoke longer than
 * one SysTick wrap (2^24 ticks, 671 M instructions) also takes an interrupt, whose exception frame
 * (up to 104 bytes with FP context) counts in its peak.
 * Exit code: 0 ok, 10 file error, 11 invoke failed, 12 the model wrote past its scratch buffer,
 * 13 the stack pointer is outside the painted region (1 is left to faults, see startup.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include EP_HEADER

#define EP_CAT_(a, b) a##b
#define EP_CAT(a, b) EP_CAT_(a, b)
#define EP_FN(name) EP_CAT(EP_PREFIX, name)
#define EP_MACRO(name) EP_CAT(EP_PREFIX_UPPER, name)

typedef EP_FN(_input_t) input_t;
typedef EP_FN(_output_t) output_t;
#define INPUT_SIZE EP_MACRO(_INPUT_SIZE)
#define OUTPUT_SIZE EP_MACRO(_OUTPUT_SIZE)
#define SCRATCH_BYTES EP_MACRO(_SCRATCH_BYTES)

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ENABLE_TICKINT_CPUCLK 7u
#define SYST_MAX 0xFFFFFFu
#define INSTRUCTIONS_PER_TICK 40u /* 25 MHz SysTick, 1 ns per instruction at shift=0 */

/* 'f' float, 'i' signed or 'u' unsigned integer: the driver checks its data against these. */
#define ELEM_KIND(t) ((t)0.5 != (t)0 ? 'f' : ((t)-1 < (t)0 ? 'i' : 'u'))

#define EXIT_FILE_ERROR 10
#define EXIT_INVOKE_FAILED 11
#define EXIT_SCRATCH_OVERRUN 12
#define EXIT_STACK_OUTSIDE 13

#define PAINT 0xC5A5C5A5u
#define GUARD_BYTES 64u
#define STACK_MARGIN 32u

extern uint32_t __stack_limit, __stack_top;

static volatile uint32_t systick_wraps;
static input_t input[INPUT_SIZE];
static output_t output[OUTPUT_SIZE];
static uint8_t scratch[SCRATCH_BYTES + GUARD_BYTES] __attribute__((aligned(16)));

void SysTick_Handler(void) { systick_wraps++; }

/* Ticks since the timer started; the wrap count comes from the SysTick interrupt. */
static uint64_t ticks_now(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYST_MAX + 1u) + (SYST_MAX - value);
}

static void timer_restart(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    systick_wraps = 0;
    SYST_CSR = SYST_ENABLE_TICKINT_CPUCLK;
    while (SYST_CVR == 0) {
    }
}

static inline uint32_t read_sp(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Fill the stack below this function's sp with PAINT. Nothing below sp is live: SysTick is
 * stopped here, so no exception frame can land in the painted area. */
__attribute__((noinline)) static void paint_stack(void)
{
    uint32_t *p = &__stack_limit;
    uint32_t *stop = (uint32_t *)read_sp();
    while (p < stop) {
        *p++ = PAINT;
    }
}

/* Lowest stack address written since paint_stack(). */
static uint32_t lowest_touched(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == PAINT) {
        p++;
    }
    return (uint32_t)p;
}

static int guard_intact(void)
{
    for (uint32_t i = 0; i < GUARD_BYTES; i++) {
        if (scratch[SCRATCH_BYTES + i] != (uint8_t)(0xA5u ^ i)) {
            return 0;
        }
    }
    return 1;
}

/* Calls fn() with sp = top. rdimon's _start moves the stack wherever semihosting's HEAPINFO says
 * (QEMU picks another RAM bank), so the measured run is moved onto the linker script's region. */
__attribute__((naked, noinline)) static int call_on_stack(int (*fn)(void), uint32_t *top)
{
    (void)fn;
    (void)top;
    __asm__ volatile("mov r2, sp\n"
                     "mov sp, r1\n"
                     "push {r2, lr}\n"
                     "blx r0\n"
                     "pop {r2, lr}\n"
                     "mov sp, r2\n"
                     "bx lr\n");
}

static int run(void)
{
    for (uint32_t i = 0; i < GUARD_BYTES; i++) {
        scratch[SCRATCH_BYTES + i] = (uint8_t)(0xA5u ^ i);
    }
    int verify = EP_FN(_verify)();
    int null_input = EP_FN(_invoke)(NULL, output, scratch);
    int null_output = EP_FN(_invoke)(input, NULL, scratch);
    int null_scratch = EP_FN(_invoke)(input, output, NULL);

    FILE *in = fopen("inputs.bin", "rb");
    FILE *out = fopen("outputs.bin", "wb");
    FILE *counts = fopen("instructions.bin", "wb");
    if (in == NULL || out == NULL || counts == NULL) {
        printf("edgeport-mcu: error=cannot-open-files\n");
        return EXIT_FILE_ERROR;
    }
    timer_restart();
    uint64_t t0 = ticks_now();
    uint64_t overhead = ticks_now() - t0;
    SYST_CSR = 0;

    uint32_t sp = read_sp();
    if (sp <= (uint32_t)&__stack_limit + STACK_MARGIN || sp > (uint32_t)&__stack_top) {
        printf("edgeport-mcu: error=stack-outside-region sp=0x%08lx\n", (unsigned long)sp);
        return EXIT_STACK_OUTSIDE;
    }
    uint32_t n = 0, peak_stack = 0, status = 0;
    while (fread(input, sizeof(input_t), INPUT_SIZE, in) == INPUT_SIZE) {
        paint_stack();
        timer_restart();
        uint64_t start = ticks_now();
        int rc = EP_FN(_invoke)(input, output, scratch);
        uint64_t ticks = ticks_now() - start - overhead;
        SYST_CSR = 0;
        uint32_t used = sp - lowest_touched();
        peak_stack = used > peak_stack ? used : peak_stack;
        if (rc != 0) {
            printf("edgeport-mcu: error=invoke-returned-%d inference=%lu\n", rc, (unsigned long)n);
            status = EXIT_INVOKE_FAILED;
            break;
        }
        if (!guard_intact()) {
            printf("edgeport-mcu: error=scratch-overrun inference=%lu\n", (unsigned long)n);
            status = EXIT_SCRATCH_OVERRUN;
            break;
        }
        uint64_t instructions = ticks * INSTRUCTIONS_PER_TICK;
        if (fwrite(output, sizeof(output_t), OUTPUT_SIZE, out) != OUTPUT_SIZE ||
            fwrite(&instructions, sizeof instructions, 1, counts) != 1) {
            printf("edgeport-mcu: error=write-failed\n");
            status = EXIT_FILE_ERROR;
            break;
        }
        n++;
    }
    fclose(in);
    if (fclose(out) != 0 || fclose(counts) != 0) {
        status = status ? status : EXIT_FILE_ERROR;
    }
    printf("edgeport-mcu: verify=%d null_input=%d null_output=%d null_scratch=%d inferences=%lu "
           "peak_stack=%lu scratch_bytes=%lu timer_overhead_instructions=%lu input=%c%u output=%c%u "
           "input_size=%lu output_size=%lu\n",
           verify, null_input, null_output, null_scratch, (unsigned long)n,
           (unsigned long)peak_stack, (unsigned long)SCRATCH_BYTES,
           (unsigned long)(overhead * INSTRUCTIONS_PER_TICK), ELEM_KIND(input_t),
           (unsigned)sizeof(input_t), ELEM_KIND(output_t), (unsigned)sizeof(output_t),
           (unsigned long)INPUT_SIZE, (unsigned long)OUTPUT_SIZE);
    return (int)status;
}

int main(void) { return call_on_stack(run, &__stack_top); }
