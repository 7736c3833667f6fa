"""Ed25519 signatures over an artifact's content digest (see ``runtime.integrity``).

``cryptography`` is imported only when keys are used: pip install 'edgeport[sign]'.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable

from .errors import BackendUnavailableError, UntrustedModelError, UsageError
from .integrity import Seal, content_digest

INSTALL_HINT = "signed models need the cryptography package: pip install 'edgeport[sign]'"


def import_serialization() -> Any:
    """``cryptography.hazmat.primitives.serialization``, or BackendUnavailableError (an ImportError) with the install hint."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError as e:
        raise BackendUnavailableError(INSTALL_HINT) from e
    return serialization


def public_key_fingerprint(public_key: Any) -> str:
    """SHA-256 (hex) of the raw 32-byte Ed25519 public key."""
    serialization = import_serialization()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(source: str | os.PathLike | bytes) -> Any:
    """An Ed25519 public key from a PEM file path (or PEM bytes); ValueError naming the file if bad."""
    serialization = import_serialization()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name = "<PEM bytes>" if isinstance(source, bytes) else str(source)
    try:
        pem = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as e:
        raise UsageError(f"{name}: cannot read the trusted key ({e.strerror or e})") from e
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as e:
        raise UsageError(
            f"{name}: not a PEM public key (expected an Ed25519 key, e.g. from "
            f"`openssl pkey -in KEY.pem -pubout`)"
        ) from e
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{name}: the trusted key is {type(key).__name__}, expected an Ed25519 public key")
    return key


def load_trusted_keys(sources: Iterable[str | os.PathLike | bytes]) -> dict[bytes, Any]:
    """{fingerprint hex (bytes): public key} for every trusted key."""
    if isinstance(sources, (str, bytes, os.PathLike)):
        sources = [sources]
    keys = {public_key_fingerprint(k).encode("ascii"): k for k in map(load_public_key, sources)}
    if not keys:
        raise UsageError("trusted_keys is empty: pass None to skip the signature check")
    return keys


def verify_signature(data: bytes, seal: Seal | None, trusted: dict[bytes, Any], path: Path | str) -> None:
    """Raise UntrustedModelError unless a trusted key signed this artifact's content digest."""
    from cryptography.exceptions import InvalidSignature

    if seal is None or not seal.signed:
        what = "has no integrity seal" if seal is None else "is not signed"
        raise UntrustedModelError(f"{path}: untrusted model: the file {what}, and trusted keys were given")
    key = trusted.get(seal.key_fingerprint)
    if key is None:
        raise UntrustedModelError(
            f"{path}: untrusted model: signed by key {seal.key_fingerprint[:16].decode()}..., "
            f"which is not among the {len(trusted)} trusted key(s)"
        )
    try:
        key.verify(bytes.fromhex(seal.signature.decode("ascii")), content_digest(data, seal))
    except InvalidSignature as e:
        raise UntrustedModelError(
            f"{path}: untrusted model: its signature does not verify with trusted key "
            f"{seal.key_fingerprint[:16].decode()}..."
        ) from e
