"""The one rule for C API prefixes, and include guards that cannot collide.

Every name edgeport generates is ``<prefix>_<name>`` (``edgeport_model_invoke``) or
``<PREFIX>_<NAME>`` (``EDGEPORT_MODEL_SCRATCH_BYTES``): the prefix never stands alone, so a C
keyword such as ``int`` is a fine prefix (``int_invoke``). What makes a prefix unusable is what
it does to those names: a leading ``_`` makes them reserved for the compiler and C library
(C99 7.1.3: ``_X...`` and ``__...`` everywhere, ``_x...`` at file scope), and ``__`` anywhere
(including a trailing ``_`` before the joining ``_``) is reserved in C++, which may include the
header too. So a prefix is: an ASCII letter, then ASCII letters and digits, in parts joined by
single underscores.
"""
from __future__ import annotations

import hashlib
import re

from .errors import CPrefixError

DEFAULT_PREFIX = "edgeport_model"
PREFIX_RULE = "an ASCII letter, then letters and digits in parts joined by single '_' (no leading, trailing or double '_')"
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z")
GUARD_PLACEHOLDER = "@EDGEPORT_INCLUDE_GUARD@"


def check_prefix(prefix: object) -> str:
    """Return ``prefix`` if it follows the prefix rule (see the module docstring), else raise CPrefixError."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        why = ""
        if isinstance(prefix, str) and prefix.startswith("_"):
            why = "; names starting with '_' are reserved for the compiler (C99 7.1.3)"
        elif isinstance(prefix, str) and ("__" in prefix or prefix.endswith("_")):
            why = "; '__' in a name (a trailing '_' gives one) is reserved in C++"
        raise CPrefixError(f"C prefix {prefix!r} is not a C identifier prefix edgeport can use: expected "
                           f"{PREFIX_RULE}, e.g. {DEFAULT_PREFIX!r}{why}")
    return prefix


def with_include_guard(prefix: str, text: str) -> str:
    """``text`` with every ``GUARD_PLACEHOLDER`` replaced by ``<PREFIX>_H_<hash>``.

    The hash (8 hex digits of SHA-256 over ``text``) makes the guard unique to this header's
    content: two prefixes that differ only in case, or a prefix such as ``model`` or ``config``,
    cannot collide with another header's guard, and the same header always gets the same guard.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8].upper()
    return text.replace(GUARD_PLACEHOLDER, f"{prefix.upper()}_H_{digest}")
