/* The parts of semihost.h that are the same on every architecture: exit and fault reports.
 * ep_semihost itself is in the startup file of each architecture. */
#include <stdint.h>

#include "semihost.h"

void ep_exit(int status)
{
    const uint32_t block[2] = {EP_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    for (;;) {
        ep_semihost(EP_SYS_EXIT_EXTENDED, block);
    }
}

void ep_fault(const char *what)
{
    const uint32_t block[2] = {EP_ADP_STOPPED_RUNTIME_ERROR, 1u};
    ep_semihost(EP_SYS_WRITE0, "edgeport-mcu: fault: ");
    ep_semihost(EP_SYS_WRITE0, what);
    ep_semihost(EP_SYS_WRITE0, "\n");
    for (;;) {
        ep_semihost(EP_SYS_EXIT_EXTENDED, block);
    }
}

#if defined(__riscv)
/* Called by startup_riscv.S's trap vector with mcause. */
__attribute__((noreturn)) void ep_trap(uint32_t mcause);

void ep_trap(uint32_t mcause)
{
    static const char *const names[] = {"instruction misaligned", "instruction access fault",
                                        "illegal instruction", "breakpoint", "load misaligned",
                                        "load access fault", "store misaligned", "store access fault"};
    ep_fault(mcause < 8u ? names[mcause] : "trap");
}
#endif
