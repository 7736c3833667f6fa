/* Startup for QEMU's RISC-V `virt` board (rv32, machine mode, -bios none).
 *
 * _start sets the global pointer, the stack pointer (top of the linker script's stack region),
 * the thread pointer (the C library keeps errno in thread-local storage) and the trap vector,
 * copies .data and .tdata from their load address, zeroes .bss and .tbss, calls main and exits
 * through semihosting with main's return value. A trap (illegal instruction, access fault)
 * ends the run through semihosting with its mcause instead of hanging QEMU.
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la tp, __tls_start
    la t0, trap_entry
    csrw mtvec, t0

    la t0, __data_load__
    la t1, __data_start__
    la t2, __data_end__
1:  bgeu t1, t2, 2f
    lw t3, 0(t0)
    sw t3, 0(t1)
    addi t0, t0, 4
    addi t1, t1, 4
    j 1b
2:  la t1, __bss_start__
    la t2, __bss_end__
3:  bgeu t1, t2, 4f
    sw zero, 0(t1)
    addi t1, t1, 4
    j 3b
4:  call main
    call ep_exit

/* Traps: report mcause and stop. */
    .balign 4
trap_entry:
    la sp, __stack_top
    csrr a0, mcause
    call ep_trap

/* long ep_semihost(long op, const void *arg): the semihosting sequence must be uncompressed
 * and must not straddle a page, hence its own 16-byte aligned block. */
    .section .text.ep_semihost, "ax", @progbits
    .globl ep_semihost
    .balign 16
ep_semihost:
    .option push
    .option norvc
    slli zero, zero, 0x1f
    ebreak
    srai zero, zero, 0x7
    .option pop
    ret
