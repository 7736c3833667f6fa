"""Read a model file safely and check its integrity seal before any engine sees it.

Every artifact written by ``python -m export`` carries, inside its metadata JSON, one
fixed-length field::

    "seal": "edgeport-seal-1 sha256=<64 hex> ed25519=<128 hex> key=<64 hex>"

- ``sha256`` is the SHA-256 of every byte of the file except those 64 hex characters.
- ``ed25519`` is an Ed25519 signature of the *content digest*: the SHA-256 of every
  byte of the file except the whole variable part of the seal (digest, signature and
  key). ``key`` is the SHA-256 of the signer's raw 32-byte public key. Both are all
  zeros in an unsigned artifact (and covered by ``sha256``, so they cannot flip silently).

ONNX (a protobuf string) and TFLite (a flatbuffer buffer) both keep the JSON bytes
verbatim, so the seal is found in the raw file bytes; exactly one occurrence is required.
Artifacts written before the seal existed have none: they load with one warning.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelFileError

SEAL_FIELD = "seal"
SEAL_MARKER = b"edgeport-seal-1 sha256="
DIGEST_HEX = 64
SIGNATURE_HEX = 128
KEY_HEX = 64
_SIG_TAG = b" ed25519="
_KEY_TAG = b" key="
SEAL_LENGTH = len(SEAL_MARKER) + DIGEST_HEX + len(_SIG_TAG) + SIGNATURE_HEX + len(_KEY_TAG) + KEY_HEX
# The unsigned, undigested form that the exporter writes first and then fills in.
SEAL_PLACEHOLDER = (
    SEAL_MARKER + b"0" * DIGEST_HEX + _SIG_TAG + b"0" * SIGNATURE_HEX + _KEY_TAG + b"0" * KEY_HEX
).decode("ascii")
_HEX = frozenset(b"0123456789abcdef")
# Protobuf and flatbuffers both address at most 2 GiB: anything larger is not a model.
MAX_MODEL_BYTES = (1 << 31) - 1
# The first byte of a serialized onnx.ModelProto is the tag of one of its fields
# (wire type included): ir_version, producer_name/version, domain, model_version,
# doc_string, graph, opset_import, metadata_props, and 2-byte tags of fields 20/25/26.
_ONNX_FIRST_BYTES = frozenset(b"\x08\x12\x1a\x22\x28\x32\x3a\x42\x72\xa2\xca\xd2")


@dataclass(frozen=True)
class Seal:
    """Where the seal sits in the file bytes, and what it holds."""

    start: int  # offset of the seal's first byte (its marker)
    digest: bytes  # 64 lowercase hex chars
    signature: bytes  # 128 hex chars, all '0' when unsigned
    key_fingerprint: bytes  # 64 hex chars, all '0' when unsigned

    @property
    def text(self) -> str:
        return (
            SEAL_MARKER + self.digest + _SIG_TAG + self.signature + _KEY_TAG + self.key_fingerprint
        ).decode("ascii")

    @property
    def digest_span(self) -> tuple[int, int]:
        begin = self.start + len(SEAL_MARKER)
        return begin, begin + DIGEST_HEX

    @property
    def variable_span(self) -> tuple[int, int]:
        """Digest, signature and key: everything the content digest leaves out."""
        return self.start + len(SEAL_MARKER), self.start + SEAL_LENGTH

    @property
    def signed(self) -> bool:
        return self.signature != b"0" * SIGNATURE_HEX


def read_model_bytes(path: Path, suffix: str) -> bytes:
    """Check size and header first, then read the whole file once."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise ModelFileError(f"{path}: file is empty (expected a {suffix} model)")
            if size > MAX_MODEL_BYTES:
                raise ModelFileError(
                    f"{path}: file is {size} bytes, larger than the 2 GiB a {suffix} model can be"
                )
            _check_header(path, suffix, f.read(8))
            f.seek(0)
            data = f.read()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the model file ({e})") from e
    if len(data) != size:
        raise ModelFileError(f"{path}: file changed while being read ({size} -> {len(data)} bytes)")
    return data


def _check_header(path: Path, suffix: str, head: bytes) -> None:
    if suffix == ".tflite":
        if len(head) < 8 or head[4:8] != b"TFL3":
            raise ModelFileError(
                f"{path}: not a TFLite flatbuffer (expected file identifier 'TFL3' at bytes 4-8, "
                f"got {head[4:8]!r})"
            )
    elif head[0] not in _ONNX_FIRST_BYTES:
        raise ModelFileError(
            f"{path}: not an ONNX protobuf (its first byte {head[:1]!r} is not the tag of an "
            f"onnx.ModelProto field)"
        )


def find_seal(data: bytes, path: Path | str) -> Seal | None:
    """The file's one seal; None if it has none; ModelFileError if it has several or a broken one."""
    start = data.find(SEAL_MARKER)
    if start < 0:
        return None
    if data.find(SEAL_MARKER, start + 1) >= 0:
        raise ModelFileError(f"{path}: integrity check failed: the file holds more than one seal")
    end = start + SEAL_LENGTH
    raw = data[start:end]
    d0 = len(SEAL_MARKER)
    s0 = d0 + DIGEST_HEX + len(_SIG_TAG)
    k0 = s0 + SIGNATURE_HEX + len(_KEY_TAG)
    digest, signature, key = raw[d0 : d0 + DIGEST_HEX], raw[s0 : s0 + SIGNATURE_HEX], raw[k0:]
    well_formed = (
        len(raw) == SEAL_LENGTH
        and raw[d0 + DIGEST_HEX : s0] == _SIG_TAG
        and raw[s0 + SIGNATURE_HEX : k0] == _KEY_TAG
        and _HEX.issuperset(digest + signature + key)
    )
    if not well_formed:
        raise ModelFileError(f"{path}: integrity check failed: the seal in its metadata is malformed")
    return Seal(start=start, digest=digest, signature=signature, key_fingerprint=key)


def file_digest(data: bytes, seal: Seal) -> bytes:
    """SHA-256 (hex, as bytes) of every byte except the digest's own characters."""
    begin, end = seal.digest_span
    view = memoryview(data)
    h = hashlib.sha256(view[:begin])
    h.update(view[end:])
    return h.hexdigest().encode("ascii")


def content_digest(data: bytes, seal: Seal) -> bytes:
    """SHA-256 (raw 32 bytes) of every byte except the seal's digest, signature and key: what is signed."""
    begin, end = seal.variable_span
    view = memoryview(data)
    h = hashlib.sha256(view[:begin])
    h.update(view[end:])
    return h.digest()


def verify_integrity(data: bytes, path: Path | str) -> Seal | None:
    """Check the seal's digest against the bytes; None for an unsealed (legacy) file."""
    seal = find_seal(data, path)
    if seal is not None and file_digest(data, seal) != seal.digest:
        raise ModelFileError(
            f"{path}: integrity check failed: the file's SHA-256 does not match the digest in its "
            f"metadata (the file is corrupt or was modified after export)"
        )
    return seal


def check_metadata_seal(seal: Seal | None, metadata_seal: object, path: Path | str) -> None:
    """The seal found in the bytes must be the metadata's own; an unsealed file gets one warning."""
    if seal is None:
        if metadata_seal is not None:
            raise ModelFileError(f"{path}: integrity check failed: the metadata's seal is damaged")
        import logging  # only here: the runtime's import stays light

        logging.getLogger(__name__).warning(
            "%s has no integrity seal (written before edgeport sealed its artifacts), so corruption "
            "cannot be detected: re-export it with `python -m export`",
            path,
        )
        return
    if metadata_seal != seal.text:
        raise ModelFileError(f"{path}: integrity check failed: the seal is not part of the edgeport metadata")
