"""Seal (and optionally sign) a written artifact in place: see ``runtime.integrity``.

The metadata JSON is embedded with a zero placeholder seal of fixed length; once the
file is written, ``seal_artifact`` hashes it, signs the content digest if a key is
given, and writes the seal's hex over the placeholder: same length, so the protobuf
or flatbuffer around it stays valid. Every writer (``export_onnx``, ``quantize_onnx``,
``export_litert``) seals what it writes; ``run_export`` re-seals with a signature.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runtime.integrity import (
    DIGEST_HEX,
    KEY_HEX,
    SIGNATURE_HEX,
    SEAL_FIELD,
    SEAL_LENGTH,
    SEAL_PLACEHOLDER,
    Seal,
    content_digest,
    file_digest,
    find_seal,
)
from runtime.errors import ModelFileError
from runtime.files import write_bytes_atomic
from runtime.metadata import ModelMetadata
from runtime.signing import import_serialization, public_key_fingerprint

from .errors import ExportError


class SigningKeyError(ExportError):
    """The --sign-key file is missing, unreadable, or not an unencrypted Ed25519 private key."""


def with_seal_placeholder(metadata: ModelMetadata) -> ModelMetadata:
    """``metadata`` with the zero seal that ``seal_artifact`` later fills in."""
    return ModelMetadata(**{**metadata.__dict__, "extra": {**metadata.extra, SEAL_FIELD: SEAL_PLACEHOLDER}})


def load_signing_key(path: str | os.PathLike) -> Any:
    """An Ed25519 private key from a PEM file (``openssl genpkey -algorithm ed25519``)."""
    try:
        serialization = import_serialization()
    except ImportError as e:
        raise SigningKeyError(f"--sign-key: {e}") from e
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise SigningKeyError(f"{path}: cannot read the signing key ({e.strerror or e})") from e
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError as e:  # encrypted, and no password given
        raise SigningKeyError(f"{path}: the signing key is encrypted; give an unencrypted PEM key") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise SigningKeyError(
            f"{path}: not a PEM private key (make one with `openssl genpkey -algorithm ed25519 -out KEY.pem`)"
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the signing key is {type(key).__name__}, expected an Ed25519 private key")
    return key


def seal_bytes(data: bytes, signing_key: Any = None) -> bytes:
    """``data`` with its seal (placeholder or earlier seal) rewritten: signature and key, then digest."""
    try:
        found = find_seal(data, "artifact")
    except ModelFileError as e:
        raise ExportError(f"cannot seal the {e}") from e
    if found is None:
        raise ExportError("cannot seal the artifact: its metadata holds no seal placeholder")
    seal = Seal(found.start, b"0" * DIGEST_HEX, b"0" * SIGNATURE_HEX, b"0" * KEY_HEX)
    if signing_key is not None:
        signature = signing_key.sign(content_digest(data, seal)).hex().encode("ascii")
        fingerprint = public_key_fingerprint(signing_key.public_key()).encode("ascii")
        seal = Seal(found.start, seal.digest, signature, fingerprint)
    data = _write_seal(data, seal)
    seal = Seal(found.start, file_digest(data, seal), seal.signature, seal.key_fingerprint)
    return _write_seal(data, seal)


def _write_seal(data: bytes, seal: Seal) -> bytes:
    text = seal.text.encode("ascii")
    assert len(text) == SEAL_LENGTH
    return data[: seal.start] + text + data[seal.start + SEAL_LENGTH :]


def seal_artifact(path: str | os.PathLike, signing_key: Any = None) -> Path:
    """Seal (or re-seal) the artifact at ``path``, replacing it atomically."""
    path = Path(path)
    write_bytes_atomic(path, seal_bytes(path.read_bytes(), signing_key))
    return path
