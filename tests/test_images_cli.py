"""`python -m runtime` on image files, folders and .npy files; runtime.load_images (real Pillow)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import runtime
from runtime import InvalidInputError, ModelMetadata
from runtime.__main__ import main as runtime_main

Image = pytest.importorskip("PIL.Image") if not os.environ.get("CI") else __import__("PIL.Image").Image
REPO = Path(__file__).resolve().parents[1]


def _error_line(argv, capsys) -> str:
    assert runtime_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.fixture()
def image_dir(tmp_path, test_set) -> Path:
    """Three lossless PNGs, one JPEG, and a text file a folder scan must ignore."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(test_set[0][i]).save(folder / f"img{i}.png")
    Image.fromarray(test_set[0][3]).save(folder / "img3.jpg", quality=95)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_cli_reads_png_jpeg_and_folders(exported_dir, image_dir, test_set, capsys):
    model_path = exported_dir / "model.onnx"
    assert runtime_main([str(model_path), str(image_dir), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [str(image_dir / f) for f in
                                                     ("img0.png", "img1.png", "img2.png", "img3.jpg")]
    model = runtime.load(model_path)
    expected = model.predict_proba(test_set[0][:3])  # PNG is lossless: identical probabilities
    for line, p in zip(lines, expected):
        best = int(p.argmax())
        assert f"{model.class_names[best]} {p[best]:.4f}" in line and line.count(",") == 1
    # JPEG is lossy: same class as the original pixels
    jpeg = runtime.load_images(image_dir / "img3.jpg", model)
    assert jpeg.shape == (1, 28, 28) and jpeg.dtype == np.uint8
    assert model.predict(jpeg)[0] == model.predict(test_set[0][3:4])[0]


def test_cli_json_and_mixed_inputs(exported_dir, image_dir, test_set, tmp_path, capsys):
    np.save(tmp_path / "x.npy", test_set[0][:2])
    argv = [str(exported_dir / "model.tflite"), str(tmp_path / "x.npy"), str(image_dir / "img0.png"), "--json"]
    assert runtime_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["input"] for r in out] == [f"{tmp_path / 'x.npy'}[0]", f"{tmp_path / 'x.npy'}[1]", str(image_dir / "img0.png")]
    assert out[0]["top_k"] == out[2]["top_k"]  # the same image, as .npy row and as PNG


def test_wrong_size_needs_resize(exported_dir, test_set, tmp_path, capsys):
    big = tmp_path / "big.png"
    Image.fromarray(test_set[0][0]).resize((56, 42)).save(big)
    err = _error_line([str(exported_dir / "model.onnx"), str(big)], capsys)
    assert "56x42" in err and "28x28" in err and "--resize" in err and "big.png" in err
    assert runtime_main([str(exported_dir / "model.onnx"), str(big), "--resize"]) == 0
    assert capsys.readouterr().out.startswith(str(big) + ": ")
    model = runtime.load(exported_dir / "model.onnx")
    with pytest.raises(InvalidInputError, match="56x42"):
        runtime.load_images([big], model)
    assert runtime.load_images([big], model, resize=True).shape == (1, 28, 28)


def test_invert_for_light_backgrounds(exported_dir, test_set, tmp_path, capsys):
    """A dark garment photographed on white: wrong as is, right with --invert."""
    light = tmp_path / "light.png"
    Image.fromarray(255 - test_set[0][2]).save(light)  # a trouser on a white background
    model = runtime.load(exported_dir / "model.onnx")
    plain = runtime.load_images(light, model)
    inverted = runtime.load_images(light, model, invert=True)
    np.testing.assert_array_equal(inverted, 255 - plain)
    np.testing.assert_array_equal(inverted[0], test_set[0][2])
    assert runtime_main([str(exported_dir / "model.onnx"), str(light), "--invert"]) == 0
    assert model.class_names[int(model.predict(test_set[0][2:3])[0])] in capsys.readouterr().out


def test_grayscale_and_rgb_models(tmp_path):
    """The model's input shape decides the conversion: (H, W) / (H, W, 1) -> L, (H, W, 3) -> RGB."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")

    def meta(shape):
        return ModelMetadata(class_names=("a", "b"), input_shape=shape, input_dtype="uint8", pixel_scale=1 / 255)

    as_rgb = runtime.load_images([tmp_path / "rgb.png", tmp_path / "gray.png"], meta((8, 8, 3)))
    assert as_rgb.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(as_rgb[0], rgb)
    np.testing.assert_array_equal(as_rgb[1], np.repeat(gray[:, :, None], 3, axis=2))
    luma = np.asarray(Image.fromarray(rgb).convert("L"))
    for shape in ((8, 8), (8, 8, 1)):
        as_gray = runtime.load_images([tmp_path / "rgb.png", tmp_path / "gray.png"], meta(shape))
        assert as_gray.shape == (2, *shape)
        np.testing.assert_array_equal(as_gray[0].reshape(8, 8), luma)
        np.testing.assert_array_equal(as_gray[1].reshape(8, 8), gray)
    with pytest.raises(InvalidInputError, match=r"\(784,\) is not an image"):
        runtime.load_images([tmp_path / "gray.png"], meta((784,)))


def test_corrupt_and_unknown_files(exported_dir, test_set, tmp_path, capsys):
    model = str(exported_dir / "model.onnx")
    good = tmp_path / "good.png"
    Image.fromarray(test_set[0][0]).save(good)
    data = good.read_bytes()
    cases = {
        "truncated.png": data[: len(data) // 2],
        "header_only.png": data[:40],
        "garbage.jpg": bytes(range(256)) * 4,
        "notes.png": b"hello, I am text\n",
        "empty.bmp": b"",
        "unknown.xyz": b"\x00\x01\x02" * 50,
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        err = _error_line([model, str(tmp_path / name)], capsys)
        assert name in err, err
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    assert "no image files" in _error_line([model, str(empty)], capsys)


def test_npy_inputs_are_checked_before_reading(exported_dir, test_set, tmp_path, capsys):
    model = str(exported_dir / "model.onnx")
    # 100 bytes on disk, header claiming 730 GiB: refused from the header, without allocating
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (98000, 1000, 1000), }"
    header += " " * (117 - len(header)) + "\n"
    huge = tmp_path / "huge.npy"
    huge.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 100)
    err = _error_line([model, str(huge)], capsys)
    assert "huge.npy" in err and "(98000, 1000, 1000)" in err and "100 bytes" in err
    np.savez(tmp_path / "arrays.npz", x=test_set[0][:2])
    assert ".npz archive" in _error_line([model, str(tmp_path / "arrays.npz")], capsys)
    (tmp_path / "text.npy").write_text("1 2 3\n")
    err = _error_line([model, str(tmp_path / "text.npy")], capsys)
    assert "not a .npy file" in err and "pickle" not in err
    np.save(tmp_path / "short.npy", test_set[0][:4])
    (tmp_path / "short.npy").write_bytes((tmp_path / "short.npy").read_bytes()[:-10])
    assert "truncated" in _error_line([model, str(tmp_path / "short.npy")], capsys)
    assert "is a directory" in _error_line([str(tmp_path), str(huge)], capsys)


def test_missing_pillow_gives_an_install_hint(exported_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "a.png").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    assert "edgeport[images]" in _error_line([str(exported_dir / "model.onnx"), str(tmp_path / "a.png")], capsys)


def test_cli_is_quiet_about_litert(exported_dir, test_set, tmp_path):
    """Issue 12.17: no 'Created TensorFlow Lite XNNPACK delegate' line on stderr."""
    np.save(tmp_path / "x.npy", test_set[0][:2])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "runtime", str(exported_dir / "model.tflite"), str(tmp_path / "x.npy")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert len(proc.stdout.splitlines()) == 2


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory, data_dir) -> Path:
    from tests import zoo

    return zoo.fashion_linear(tmp_path_factory.mktemp("small"), data_dir)


def test_high_bit_depth_images_are_rescaled_not_clipped(small_onnx, test_set, tmp_path, capsys):
    """Fashion-MNIST test image 1 as 8-bit PNG, 16-bit PNG, 16-bit PGM and float TIFF: one answer."""
    pixels = test_set[0][1]
    Image.fromarray(pixels).save(tmp_path / "img8.png")
    Image.fromarray(pixels.astype(np.uint16) * 257).save(tmp_path / "img16.png")  # 255 -> 65535
    Image.fromarray(pixels.astype(np.uint16) * 257).save(tmp_path / "img16.pgm")
    Image.fromarray(pixels.astype(np.float32) / 255).save(tmp_path / "float.tiff")
    assert Image.open(tmp_path / "img16.png").mode.startswith("I")  # really 16 bits on disk
    model_path = small_onnx
    files = [tmp_path / n for n in ("img8.png", "img16.png", "img16.pgm", "float.tiff")]
    assert runtime_main([str(model_path), *map(str, files), "--top-k", "3"]) == 0
    answers = [line.split(": ", 1)[1] for line in capsys.readouterr().out.strip().splitlines()]
    assert len(answers) == 4 and len(set(answers)) == 1, answers
    model = runtime.load(model_path)
    for f in files:
        np.testing.assert_array_equal(runtime.load_images(f, model), pixels[np.newaxis])


@pytest.mark.parametrize("name, array, match", [
    ("wide.tiff", np.full((28, 28), 300.0, np.float32), r"float image with values in \[300, 300\]: expected floats in 0\.\.1"),
    ("int32.tiff", np.full((28, 28), 70000, np.int32), "32-bit integer pixels"),
])
def test_images_without_a_known_range_are_refused(small_onnx, tmp_path, name, array, match):
    Image.fromarray(array).save(tmp_path / name)
    with pytest.raises(InvalidInputError, match=match):
        runtime.load_images(tmp_path / name, runtime.load(small_onnx))


def test_json_is_strict_when_an_output_overflows(tmp_path, capsys):
    """A regression output of Inf is printed as null: strict JSON parsers refuse Infinity."""
    from tests import zoo

    model_path = zoo.summing_regressor_onnx(tmp_path)
    np.save(tmp_path / "x.npy", np.array([[3e38, 3e38, 3e38, 3e38], [1, 2, 3, 4]], np.float32))
    assert runtime_main([str(model_path), str(tmp_path / "x.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)
    assert [r["values"] for r in out] == [[None], [10.0]]


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height 8-bit gray pixels: Pillow judges its size at open."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_inputs_that_are_not_plain_image_files_say_what_they_are(small_onnx, tmp_path, capsys):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    frames = [Image.new("L", (28, 28), c) for c in (0, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    bomb = _png_header_only(tmp_path / "bomb.png", 20000, 20000)
    model = str(small_onnx)
    for path, expected in [
        (loop, "is a symbolic link loop"), (fifo, "is a FIFO (named pipe), not a regular file"),
        (dangling, "is a broken symbolic link"), (tmp_path / "anim.gif", "GIF image with 2 frames"),
        (bomb, "refused as a possible decompression bomb"), (tmp_path / "nothere.png", "input file not found"),
    ]:
        err = _error_line([model, str(path)], capsys)
        assert f"{path}: {expected}" in err, err
    frames[0].save(tmp_path / "still.gif")  # a single-frame GIF is an ordinary image
    assert runtime_main([model, str(tmp_path / "still.gif")]) == 0
