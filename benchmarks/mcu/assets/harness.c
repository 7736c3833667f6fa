/* Semihosting harness: runs a generated model on an emulated core and measures it.
 *
 * Build with -DEP_HEADER='"model.int8.h"' -DEP_PREFIX=edgeport_model -DEP_PREFIX_UPPER=EDGEPORT_MODEL
 * and the board's counter, -DEP_COUNTER_SYSTICK (Cortex-M) or -DEP_COUNTER_INSTRET (RISC-V).
 * Files, relative to QEMU's working directory (semihosting, no C library):
 *   inputs.bin   N input vectors, INPUT_SIZE elements each (read until the file ends);
 *   outputs.bin  N output vectors, written as the model produced them;
 *   ticks.bin    N uint64 (little-endian): counter ticks of each invoke, minus the counter's
 *                own overhead. The driver turns ticks into instructions with the board's
 *                instructions per tick (QEMU runs with -icount shift=0: 1 ns per instruction).
 * stdout gets one `edgeport-mcu: key=value ...` summary line for the driver to parse.
 * Peak stack: the stack is painted before each invoke and scanned after it. On Cortex-M, an
 * invoke longer than one SysTick wrap (2^24 ticks) also takes an interrupt, whose exception
 * frame (up to 104 bytes with FP context) counts in its peak.
 * Exit code: 0 ok, 10 file error, 11 invoke failed, 12 the model wrote past its scratch buffer,
 * 13 the stack pointer is outside the painted region (1 is left to faults, see the startup files).
 */
#include <stdint.h>

#include "semihost.h"
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

static input_t input[INPUT_SIZE];
static output_t output[OUTPUT_SIZE];
static uint8_t scratch[SCRATCH_BYTES + GUARD_BYTES] __attribute__((aligned(16)));

/* ---- the instruction counter ---------------------------------------------------------- */
#if defined(EP_COUNTER_SYSTICK)
/* SysTick on the processor clock; wraps are counted by its interrupt. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ENABLE_TICKINT_CPUCLK 7u
#define SYST_MAX 0xFFFFFFu

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

static uint64_t counter_now(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYST_MAX + 1u) + (SYST_MAX - value);
}

static void counter_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    systick_wraps = 0;
    SYST_CSR = SYST_ENABLE_TICKINT_CPUCLK;
    while (SYST_CVR == 0) {
    }
}

static void counter_stop(void) { SYST_CSR = 0; }

static inline uint32_t read_sp(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}
#elif defined(EP_COUNTER_INSTRET)
/* The 64-bit minstret CSR: QEMU's icount, one per retired instruction. */
static uint64_t counter_now(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

static void counter_start(void) {}

static void counter_stop(void) {}

static inline uint32_t read_sp(void)
{
    uint32_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    return sp;
}
#else
#error "define the board's counter: EP_COUNTER_SYSTICK or EP_COUNTER_INSTRET"
#endif

/* ---- semihosting files and the summary line ------------------------------------------- */
static long file_open(const char *name, long mode)
{
    long len = 0;
    while (name[len] != '\0') {
        len++;
    }
    const uintptr_t block[3] = {(uintptr_t)name, (uintptr_t)mode, (uintptr_t)len};
    return ep_semihost(EP_SYS_OPEN, block);
}

/* 1 if all `len` bytes were read or written. */
static int file_io(int op, long handle, const void *buf, uint32_t len)
{
    const uintptr_t block[3] = {(uintptr_t)handle, (uintptr_t)buf, (uintptr_t)len};
    return ep_semihost(op, block) == 0; /* the call returns the bytes NOT transferred */
}

static int file_close(long handle)
{
    const uintptr_t block[1] = {(uintptr_t)handle};
    return ep_semihost(EP_SYS_CLOSE, block) == 0;
}

static char line[512];
static uint32_t line_len;

static void put_text(const char *s)
{
    while (*s != '\0' && line_len + 1u < sizeof line) {
        line[line_len++] = *s++;
    }
    line[line_len] = '\0';
}

static void put_field(const char *key, int32_t value)
{
    char digits[12];
    uint32_t n = 0, magnitude = value < 0 ? 0u - (uint32_t)value : (uint32_t)value;
    do {
        digits[n++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    } while (magnitude != 0u);
    put_text(" ");
    put_text(key);
    put_text(value < 0 ? "=-" : "=");
    while (n > 0u) {
        char one[2] = {digits[--n], '\0'};
        put_text(one);
    }
}

static void put_type(const char *key, char kind, uint32_t size)
{
    char text[3] = {kind, (char)('0' + size), '\0'};
    put_text(" ");
    put_text(key);
    put_text("=");
    put_text(text);
}

static void report_error(const char *what)
{
    ep_semihost(EP_SYS_WRITE0, "edgeport-mcu: error=");
    ep_semihost(EP_SYS_WRITE0, what);
    ep_semihost(EP_SYS_WRITE0, "\n");
}

/* ---- stack and scratch checks ---------------------------------------------------------- */
/* Fill the stack below `sp` (main's stack pointer) with PAINT. Inlined into main, whose frame
 * is fixed: nothing below sp is live, and the counter is stopped, so no exception frame can
 * land in the painted area. (A function of its own could push its return address below the
 * sp it read.) */
static inline __attribute__((always_inline)) void paint_stack(uint32_t sp)
{
    uint32_t *p = &__stack_limit;
    uint32_t *stop = (uint32_t *)(uintptr_t)sp;
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
    return (uint32_t)(uintptr_t)p;
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

/* ---- the run --------------------------------------------------------------------------- */
int main(void)
{
    for (uint32_t i = 0; i < GUARD_BYTES; i++) {
        scratch[SCRATCH_BYTES + i] = (uint8_t)(0xA5u ^ i);
    }
    int verify = EP_FN(_verify)();
    int null_input = EP_FN(_invoke)(0, output, scratch);
    int null_output = EP_FN(_invoke)(input, 0, scratch);
    int null_scratch = EP_FN(_invoke)(input, output, 0);

    long in = file_open("inputs.bin", EP_OPEN_RB);
    long out = file_open("outputs.bin", EP_OPEN_WB);
    long ticks_file = file_open("ticks.bin", EP_OPEN_WB);
    if (in < 0 || out < 0 || ticks_file < 0) {
        report_error("cannot-open-files");
        return EXIT_FILE_ERROR;
    }
    counter_start();
    uint64_t t0 = counter_now();
    uint64_t overhead = counter_now() - t0;
    counter_stop();

    uint32_t sp = read_sp();
    if (sp <= (uint32_t)(uintptr_t)&__stack_limit + STACK_MARGIN || sp > (uint32_t)(uintptr_t)&__stack_top) {
        report_error("stack-outside-region");
        return EXIT_STACK_OUTSIDE;
    }
    uint32_t n = 0, peak_stack = 0;
    int status = 0;
    while (file_io(EP_SYS_READ, in, input, sizeof input)) {
        paint_stack(sp);
        counter_start();
        uint64_t start = counter_now();
        int rc = EP_FN(_invoke)(input, output, scratch);
        uint64_t ticks = counter_now() - start - overhead;
        counter_stop();
        uint32_t used = sp - lowest_touched();
        peak_stack = used > peak_stack ? used : peak_stack;
        if (rc != 0) {
            report_error("invoke-returned-non-zero");
            status = EXIT_INVOKE_FAILED;
            break;
        }
        if (!guard_intact()) {
            report_error("scratch-overrun");
            status = EXIT_SCRATCH_OVERRUN;
            break;
        }
        if (!file_io(EP_SYS_WRITE, out, output, sizeof output) ||
            !file_io(EP_SYS_WRITE, ticks_file, &ticks, sizeof ticks)) {
            report_error("write-failed");
            status = EXIT_FILE_ERROR;
            break;
        }
        n++;
    }
    file_close(in);
    if (!file_close(out) || !file_close(ticks_file)) {
        status = status ? status : EXIT_FILE_ERROR;
    }
    put_text("edgeport-mcu:");
    put_field("verify", verify);
    put_field("null_input", null_input);
    put_field("null_output", null_output);
    put_field("null_scratch", null_scratch);
    put_field("inferences", (int32_t)n);
    put_field("peak_stack", (int32_t)peak_stack);
    put_field("scratch_bytes", (int32_t)SCRATCH_BYTES);
    put_field("counter_overhead_ticks", (int32_t)overhead);
    put_type("input", ELEM_KIND(input_t), (uint32_t)sizeof(input_t));
    put_type("output", ELEM_KIND(output_t), (uint32_t)sizeof(output_t));
    put_field("input_size", (int32_t)INPUT_SIZE);
    put_field("output_size", (int32_t)OUTPUT_SIZE);
    put_text("\n");
    ep_semihost(EP_SYS_WRITE0, line);
    return status;
}
