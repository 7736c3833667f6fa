/* Startup for every Cortex-M board (M0 to M55): the vector table and the reset handler.
 *
 * Reset_Handler does what QEMU's loader does not: it grants access to the FPU and to the MVE
 * (CPACR) when the build uses them, copies .data from its load address in flash to RAM and
 * zeroes .bss. Then it calls main and exits through semihosting with main's return value.
 * The stack pointer comes from the vector table (word 0): the top of the linker script's
 * stack region. Every fault ends the run through semihosting with its name instead of
 * hanging QEMU. Works on ARMv6-M (Thumb-1 only): no assembler beyond bkpt and mrs.
 */
#include <stdint.h>

#include "semihost.h"

extern uint32_t __data_start__, __data_end__, __data_load__, __bss_start__, __bss_end__;
extern uint32_t __stack_top;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void); /* the harness's */

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

long ep_semihost(long op, const void *arg)
{
    register long r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

__attribute__((noreturn)) void Fault_Handler(void)
{
    static const char *const names[] = {"?", "reset", "NMI", "HardFault", "MemManage", "BusFault",
                                        "UsageFault", "SecureFault"};
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    ep_fault(names[ipsr < 8u ? ipsr : 0u]);
}

/* No loop may become a call to memcpy/memset: .data is not there yet. */
__attribute__((noreturn, optimize("no-tree-loop-distribute-patterns"))) void Reset_Handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    CPACR |= CPACR_CP10_CP11_FULL; /* the FPU, and on the M55 the MVE too */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    const uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
    ep_exit(main());
}

/* Exceptions 0-15; the boards' external interrupts are unused. */
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &__stack_top,
    (const void *)Reset_Handler,
    (const void *)Fault_Handler, /* NMI */
    (const void *)Fault_Handler, /* HardFault */
    (const void *)Fault_Handler, /* MemManage */
    (const void *)Fault_Handler, /* BusFault */
    (const void *)Fault_Handler, /* UsageFault */
    (const void *)Fault_Handler, /* SecureFault (ARMv8-M) */
    0,
    0,
    0,
    (const void *)Fault_Handler, /* SVCall */
    (const void *)Fault_Handler, /* DebugMonitor */
    0,
    (const void *)Fault_Handler, /* PendSV */
    (const void *)SysTick_Handler,
};
