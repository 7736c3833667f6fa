/* Semihosting: the guest asks QEMU (-semihosting-config enable=on,target=native) to open, read
 * and write files of the host, and to exit with a status. No C library is involved, so the same
 * harness runs on a 16 KB Cortex-M0 and on RISC-V.
 *
 * Operation numbers and parameter blocks: Arm "Semihosting for AArch32 and AArch64", which the
 * RISC-V semihosting specification reuses. ep_semihost() is in the startup file of each
 * architecture (bkpt 0xAB on Cortex-M; slli/ebreak/srai on RISC-V).
 */
#ifndef EP_SEMIHOST_H
#define EP_SEMIHOST_H

#include <stdint.h>

#define EP_SYS_OPEN 0x01
#define EP_SYS_CLOSE 0x02
#define EP_SYS_WRITE0 0x04
#define EP_SYS_WRITE 0x05
#define EP_SYS_READ 0x06
#define EP_SYS_EXIT_EXTENDED 0x20

#define EP_OPEN_RB 1 /* fopen mode "rb" */
#define EP_OPEN_WB 5 /* fopen mode "wb" */

#define EP_ADP_STOPPED_APPLICATION_EXIT 0x20026 /* exit status = the subcode */
#define EP_ADP_STOPPED_RUNTIME_ERROR 0x20023   /* QEMU exits with status 1 */

/* One semihosting call: operation `op`, argument `arg` (a parameter block or a string). */
long ep_semihost(long op, const void *arg);

/* Ends the program: QEMU exits with `status`. */
__attribute__((noreturn)) void ep_exit(int status);

/* Ends the program after a fault: prints "edgeport-mcu: fault: <what>" and QEMU exits with 1. */
__attribute__((noreturn)) void ep_fault(const char *what);

#endif
