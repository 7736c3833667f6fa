"""Lowering for the fast int8 kernels of ``export/csrc/kernels/fast/`` (issue 17).

Each module turns one op's explicit dims, weights and quantization into a ``KernelCall``: the
constant tables in the order the kernel reads them, the C call with every size and quantization
constant as a literal (the kernels are force-inlined, so the compiler specialises them), the kernel
files it needs and the scratch it uses. The op modules of the generator own graph reading and
checks; these functions only take numbers.
"""
from .call import KERNEL_DIR, KernelCall, Table, kernel_source
from .channels import channel_table, fast_requant_ok
from .conv import conv_call, pack_rows

__all__ = ["KERNEL_DIR", "KernelCall", "Table", "channel_table", "conv_call", "fast_requant_ok", "kernel_source",
           "pack_rows"]
