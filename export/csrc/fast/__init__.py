"""Lowering onto the fast int8 kernels of ``export/csrc/kernels/fast/`` (issue 17).

Each module turns one op's explicit dims, weights and quantization into a ``KernelCall``: the
constant tables in the order the kernel reads them, the C call with every size and quantization
constant as a literal (the kernels are force-inlined, so the compiler specialises them to the op),
and the scratch it needs. The op modules in ``ops/`` own graph reading and checks, and decide
when a fast kernel applies; these functions only take numbers.
"""
from .add import add_call
from .call import KernelCall
from .channels import fast_requant_ok, requant_tables
from .conv import conv_call, conv_supported, pack_rows
from .depthwise import depthwise_call, depthwise_in_place_ok, depthwise_supported
from .fc import fc_call
from .pool import avgpool_call, maxpool_call, pool_in_place_ok

__all__ = ["KernelCall", "add_call", "avgpool_call", "conv_call", "conv_supported",
           "depthwise_call", "depthwise_in_place_ok", "depthwise_supported", "fc_call", "fast_requant_ok", "maxpool_call", "pack_rows", "pool_in_place_ok", "requant_tables"]
