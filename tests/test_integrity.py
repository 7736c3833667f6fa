"""Integrity seal, signatures and mutation fuzzing: a damaged or untrusted artifact never loads.

Real converters and engines throughout; keys are generated with ``cryptography``.
"""
from __future__ import annotations

import json
import logging
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import runtime
from runtime import ModelFileError, UntrustedModelError
from runtime.integrity import SEAL_PLACEHOLDER, file_digest, find_seal

ARTIFACTS = ("model.onnx", "model.int8.onnx", "model.tflite", "model.int8.tflite")
FUZZ_SEED = 20261128


def test_mutation_fuzzing_every_mutant_is_refused(exported_dir):
    """>= 200 seeded mutants per artifact kind: all refused with ModelFileError, none crash or load."""
    from benchmarks.fuzz import fuzz, format_table

    results = fuzz(exported_dir, mutants=200, seed=FUZZ_SEED)
    print("\n" + format_table(results))
    assert [r.artifact for r in results] == list(ARTIFACTS)
    for r in results:
        assert r.mutants == 200
        assert set(r.operations) == {"flip", "truncate", "append", "json"}, r.operations
        assert r.outcomes["crash"] == 0, r.failures
        assert r.outcomes["other"] == 0, r.failures
        assert r.outcomes["loaded"] == 0, r.failures
        assert r.outcomes["refused"] == 200, r.failures


@pytest.mark.parametrize("name", ARTIFACTS)
def test_every_artifact_is_sealed_and_verifies(name, exported_dir):
    data = (exported_dir / name).read_bytes()
    seal = find_seal(data, name)
    assert seal is not None and not seal.signed
    assert file_digest(data, seal) == seal.digest
    model = runtime.load(exported_dir / name)
    assert model.metadata.extra["seal"] == seal.text


def test_digest_mismatch_names_the_file(exported_dir, tmp_path):
    data = bytearray((exported_dir / "model.onnx").read_bytes())
    data[len(data) // 3] ^= 0x01  # one bit, in the weights
    path = tmp_path / "flipped.onnx"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="flipped.onnx: integrity check failed"):
        runtime.load(path)


def test_two_seals_are_refused(exported_dir, tmp_path):
    data = (exported_dir / "model.tflite").read_bytes()
    path = tmp_path / "twice.tflite"
    path.write_bytes(data + SEAL_PLACEHOLDER.encode())
    with pytest.raises(ModelFileError, match="twice.tflite: integrity check failed.*more than one seal"):
        runtime.load(path)


def _unsealed_onnx(exported_dir: Path, path: Path) -> None:
    """An artifact as written before sealing existed: the same metadata without the seal."""
    import onnx

    proto = onnx.load(exported_dir / "model.onnx")
    for prop in proto.metadata_props:
        if prop.key == runtime.METADATA_KEY:
            meta = json.loads(prop.value)
            del meta["seal"]
            prop.value = json.dumps(meta, sort_keys=True)
    onnx.save(proto, path)


def test_legacy_artifact_loads_with_one_warning(exported_dir, tmp_path, caplog, test_set):
    path = tmp_path / "legacy.onnx"
    _unsealed_onnx(exported_dir, path)
    with caplog.at_level(logging.WARNING):
        model = runtime.load(path)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "legacy.onnx" in warnings[0].getMessage() and "re-export" in warnings[0].getMessage()
    reference = runtime.load(exported_dir / "model.onnx")
    np.testing.assert_array_equal(model.predict(test_set[0][:100]), reference.predict(test_set[0][:100]))


def test_header_is_checked_before_reading(tmp_path):
    """A huge garbage file is refused from its first bytes, without reading it into memory."""
    garbage = tmp_path / "huge.tflite"
    with open(garbage, "wb") as f:
        f.truncate(1 << 30)  # 1 GiB, sparse: all zeros, no 'TFL3'
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="huge.tflite: not a TFLite flatbuffer.*TFL3"):
            runtime.load(garbage)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"load allocated {peak} bytes for a garbage file"
    too_big = tmp_path / "too_big.tflite"
    with open(too_big, "wb") as f:
        f.write(b"\x1c\x00\x00\x00TFL3")
        f.truncate(3 << 30)
    with pytest.raises(ModelFileError, match="too_big.tflite: file is 3221225472 bytes, larger than the 2 GiB"):
        runtime.load(too_big)
    not_onnx = tmp_path / "huge.onnx"
    shutil.copy(garbage, not_onnx)
    with pytest.raises(ModelFileError, match="huge.onnx: not an ONNX protobuf"):
        runtime.load(not_onnx)


def test_engine_rejection_at_first_inference_is_a_model_file_error(exported_dir, tmp_path):
    """A well-sealed int8 file that XNNPACK rejects (zero point 5 on int8 weights) is refused at load."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from export.seal import seal_bytes

    data = (exported_dir / "model.int8.tflite").read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    weights = [t for t in model.subgraphs[0].tensors if t.name.endswith(b"hidden1_1/MatMul")]
    assert len(weights) == 1 and weights[0].type == schema.TensorType.INT8
    weights[0].quantization.zeroPoint = np.full_like(weights[0].quantization.zeroPoint, 5)
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "zero_point.tflite"
    path.write_bytes(seal_bytes(bytes(builder.Output())))  # re-sealed: only the engine can object
    pattern = "zero_point.tflite: the litert engine rejected the model at its first inference.*zero-point"
    with pytest.raises(ModelFileError, match=pattern):
        runtime.load(path)


# --- signatures -------------------------------------------------------------------------


def _write_keypair(directory: Path, name: str) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("keys")
    return {name: _write_keypair(directory, name) for name in ("release", "other")}


@pytest.fixture(scope="module")
def signed_dir(exported_dir, data_dir, keys, tmp_path_factory) -> Path:
    """fp32 ONNX and TFLite signed with the release key, through the export CLI."""
    from export.__main__ import main as export_main

    out = tmp_path_factory.mktemp("signed")
    shutil.copy2(exported_dir / "model.keras", out / "model.keras")
    argv = ["--model", str(out / "model.keras"), "--format", "all", "--data-dir", str(data_dir),
            "--sign-key", str(keys["release"][0]), "-q"]
    assert export_main(argv) == 0
    return out


@pytest.mark.parametrize("name", ["model.onnx", "model.tflite"])
def test_signed_artifact_round_trip(name, signed_dir, exported_dir, keys, tmp_path, test_set):
    release_pub, other_pub = keys["release"][1], keys["other"][1]
    signed = signed_dir / name
    model = runtime.load(signed, trusted_keys=[release_pub])
    assert model.predict(test_set[0][:10]).shape == (10,)
    runtime.load(signed, trusted_keys=[other_pub, release_pub])  # any key of the set
    runtime.load(signed)  # without trusted keys: integrity only, as before

    with pytest.raises(UntrustedModelError, match=f"{name}: untrusted model: signed by key .* not among"):
        runtime.load(signed, trusted_keys=[other_pub])
    with pytest.raises(UntrustedModelError, match=f"{name}: untrusted model: the file is not signed"):
        runtime.load(exported_dir / name, trusted_keys=[release_pub])

    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0x40
    flipped = tmp_path / f"flipped{signed.suffix}"
    flipped.write_bytes(bytes(data))
    for trusted in (None, [release_pub]):
        with pytest.raises(ModelFileError, match="flipped.*integrity check failed"):
            runtime.load(flipped, trusted_keys=trusted)

    # Tampering that also recomputes the digest passes the integrity check, but not the signature.
    seal = find_seal(bytes(data), flipped)
    begin, end = seal.digest_span
    data[begin:end] = file_digest(bytes(data), seal)
    forged = tmp_path / f"forged{signed.suffix}"
    forged.write_bytes(bytes(data))
    with pytest.raises(UntrustedModelError, match="forged.*signature does not verify"):
        runtime.load(forged, trusted_keys=[release_pub])


def test_unsealed_artifact_is_untrusted(exported_dir, keys, tmp_path):
    path = tmp_path / "legacy.onnx"
    _unsealed_onnx(exported_dir, path)
    with pytest.raises(UntrustedModelError, match="legacy.onnx: untrusted model: the file has no integrity seal"):
        runtime.load(path, trusted_keys=[keys["release"][1]])


def test_bad_trusted_keys(exported_dir, keys, tmp_path):
    model = exported_dir / "model.onnx"
    with pytest.raises(ValueError, match="missing.pem: cannot read the trusted key"):
        runtime.load(model, trusted_keys=[tmp_path / "missing.pem"])
    with pytest.raises(ValueError, match="release.pem: not a PEM public key"):
        runtime.load(model, trusted_keys=[keys["release"][0]])  # the private key
    with pytest.raises(ValueError, match="trusted_keys is empty"):
        runtime.load(model, trusted_keys=[])


def test_runtime_cli_trusted_key(signed_dir, exported_dir, keys, tmp_path, capsys):
    from runtime.__main__ import main as runtime_main

    images = tmp_path / "images.npy"
    np.save(images, np.zeros((2, 28, 28), np.uint8))
    signed = str(signed_dir / "model.tflite")
    assert runtime_main([signed, str(images), "--trusted-key", str(keys["release"][1])]) == 0
    assert runtime_main([signed, str(images), "--trusted-key", str(keys["other"][1]),
                         "--trusted-key", str(keys["release"][1])]) == 0
    capsys.readouterr()
    for model, key, expected in (
        (signed, keys["other"][1], "not among the 1 trusted key"),
        (str(exported_dir / "model.tflite"), keys["release"][1], "not signed"),
        (signed, keys["release"][0], "not a PEM public key"),
    ):
        assert runtime_main([model, str(images), "--trusted-key", str(key)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err


def test_export_refuses_a_bad_sign_key_before_converting(tmp_path, keys, capsys):
    from export import run_export
    from export.__main__ import main as export_main
    from export.seal import SigningKeyError

    missing_model = tmp_path / "never-loaded.keras"  # the key is checked before the model is read
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello\n")
    for key, expected in (
        (tmp_path / "missing.pem", "missing.pem: cannot read the signing key"),
        (not_a_key, "not-a-key.pem: not a PEM private key"),
        (keys["release"][1], "release.pub.pem: not a PEM private key"),
    ):
        with pytest.raises(SigningKeyError, match=expected):
            run_export(missing_model, sign_key=key)
        assert export_main(["--model", str(missing_model), "--sign-key", str(key)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
