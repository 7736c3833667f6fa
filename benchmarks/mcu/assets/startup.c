/* Startup for QEMU mps2-an386 (Cortex-M4F): the vector table and the reset handler.
 *
 * Reset_Handler does the two things QEMU's loader does not: it copies .data from its load
 * address in flash to RAM, and it grants access to the FPU (CPACR) before any floating-point
 * instruction runs. Then it hands over to newlib's rdimon _start, which zeroes .bss, sets up
 * the heap through semihosting, runs the constructors and calls main.
 * Every fault ends the run through semihosting with a message, instead of hanging QEMU.
 */
#include <stdint.h>

extern uint32_t __data_start__, __data_end__, __data_load__;
extern uint32_t __stack_top;
extern void _start(void);

void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);

/* Semihosting operations (ARM "Semihosting for AArch32 and AArch64"). */
#define SEMIHOST_SYS_WRITE0 0x04
#define SEMIHOST_SYS_EXIT 0x18
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

__attribute__((noreturn)) void Fault_Handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    static const char *const names[] = {"?", "reset", "NMI", "HardFault", "MemManage",
                                        "BusFault", "UsageFault"};
    semihost(SEMIHOST_SYS_WRITE0, "edgeport-mcu: fault: ");
    semihost(SEMIHOST_SYS_WRITE0, names[(ipsr & 0x1FFu) < 7u ? (ipsr & 0x1FFu) : 0u]);
    semihost(SEMIHOST_SYS_WRITE0, "\n");
    for (;;) {
        semihost(SEMIHOST_SYS_EXIT, (const void *)ADP_STOPPED_RUNTIME_ERROR);
    }
}

__attribute__((noreturn, naked)) void Reset_Handler(void)
{
    __asm__ volatile(
        "ldr r0, =__data_start__\n"
        "ldr r1, =__data_end__\n"
        "ldr r2, =__data_load__\n"
        "1: cmp r0, r1\n"
        "bhs 2f\n"
        "ldr r3, [r2], #4\n"
        "str r3, [r0], #4\n"
        "b 1b\n"
        "2: ldr r0, =0xE000ED88\n" /* CPACR: full access to CP10/CP11 (the FPU) */
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
        "b _start\n");
}

/* Cortex-M4 exceptions 0-15; the board's external interrupts are unused. */
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &__stack_top,
    (const void *)Reset_Handler,
    (const void *)Fault_Handler, /* NMI */
    (const void *)Fault_Handler, /* HardFault */
    (const void *)Fault_Handler, /* MemManage */
    (const void *)Fault_Handler, /* BusFault */
    (const void *)Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    (const void *)Fault_Handler, /* SVCall */
    (const void *)Fault_Handler, /* DebugMonitor */
    0,
    (const void *)Fault_Handler, /* PendSV */
    (const void *)SysTick_Handler,
};
