"""A trained vocoder packed into one archive (bin/pack_vocoder) and loaded back safely."""

import io
import json
import tarfile

import pytest
import torch
import yaml

from espnet2_spiking.bin import pack_vocoder
from espnet2_spiking.vocoder import Vocoder
from tests.helpers_untrusted import save_malicious, save_vocoder, snapshot


@pytest.fixture
def packed(tmp_path):
    model = save_vocoder(tmp_path / "exp", "spiking_vocos")
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(dict(pesq_wb=3.25, stoi=0.9, utmos=None, num_utts=4)))
    archive = tmp_path / "voc.tar.gz"
    pack_vocoder.main(["--model_file", str(model), "--metrics", str(metrics), "--out", str(archive)])
    return model, archive


def test_archive_decodes_as_the_model_file(packed, tmp_path):
    model, archive = packed
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["README.md", "config.yaml", "feats.yaml", "model.pth"]
        card = tar.extractfile("README.md").read().decode()
        feats = yaml.safe_load(tar.extractfile("feats.yaml"))
    assert "spiking_vocos" in card and "| pesq_wb | 3.25 |" in card and "| num_utts | 4 |" in card
    assert feats["n_mels"] == 16 and feats["hop_length"] == 16
    mel = torch.randn(20, 16)
    expected = Vocoder.from_pretrained(model).decode(mel)
    from_archive = Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked")
    assert torch.equal(from_archive.decode(mel), expected)
    assert torch.equal(Vocoder.from_pretrained(tmp_path / "unpacked").decode(mel), expected)  # a directory
    assert torch.equal(
        Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked").decode(mel), expected
    )


def add(tar, name, content=b"x", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = (len(content) if kind == tarfile.REGTYPE else 0), kind, link
    tar.addfile(info, io.BytesIO(content) if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(
    "member",
    [
        dict(name="../escaped.txt"),
        dict(name="/tmp/absolute.txt"),
        dict(name="sub/config.yaml"),
        dict(name="README.md", kind=tarfile.SYMTYPE, link="/etc/passwd"),
    ],
)
def test_unsafe_archive_is_refused_before_anything_is_written(packed, tmp_path, member):
    model, _ = packed
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "config.yaml", (model.parent / "config.yaml").read_bytes())
        add(tar, "model.pth", model.read_bytes())
        add(tar, **member)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="Refusing to unpack.*pack_vocoder"):
        Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked")
    assert snapshot(tmp_path) == before and not (tmp_path / "unpacked").exists()


def test_archive_with_code_in_its_weights_is_refused(packed, tmp_path):
    model, _ = packed
    marker = tmp_path / "ran"
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "config.yaml", (model.parent / "config.yaml").read_bytes())
        add(tar, "model.pth", save_malicious(tmp_path / "evil.pth", marker).read_bytes())
    with pytest.raises(ValueError, match="Refusing to load"):
        Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked")
    assert not marker.exists()


def test_directory_without_a_model_file_says_what_it_needs(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.pth, valid.mel_loss.best.pth"):
        Vocoder.from_pretrained(tmp_path)


def forged(tmp_path, model, *members):
    """An archive with the real config and weights plus ``members`` ((name, content) pairs)."""
    archive = tmp_path / "forged.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "config.yaml", (model.parent / "config.yaml").read_bytes())
        add(tar, "model.pth", model.read_bytes())
        for name, content in members:
            add(tar, name, content)
    return archive


@pytest.mark.parametrize(
    "members, message",
    [
        ([("README.md", bytes(2 << 20))], "its README.md would unpack to 2,097,152 bytes .*1,048,576 bytes for README.md"),
        ([("config.yaml", b"generator: vocos\n")], "it holds config.yaml twice"),
    ],
    ids=["inflates", "duplicate"],
)
def test_archive_that_lies_is_refused_and_leaves_nothing(packed, tmp_path, members, message):
    model, _ = packed
    archive = forged(tmp_path, model, *members)
    assert archive.stat().st_size < 100_000  # a small file (2 MiB of zeros compress to a few KB)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=f"Refusing to unpack {archive}: {message}"):
        Vocoder.from_pretrained(archive, unpack_dir=tmp_path / "unpacked")
    assert snapshot(tmp_path) == before and not (tmp_path / "unpacked").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no fresh folder left behind


def test_unpack_dir_holding_other_files_is_refused_never_overwritten(packed, tmp_path):
    _, archive = packed
    training = tmp_path / "exp"  # the finished training that was packed: config.yaml, model.pth
    before = snapshot(training)
    with pytest.raises(ValueError, match=f"into {training}: it already holds other files \\(config.yaml, model.pth\\)"):
        Vocoder.from_pretrained(archive, unpack_dir=training)
    assert snapshot(training) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    Vocoder.from_pretrained(archive, unpack_dir=empty)  # an empty folder is filled
    assert sorted(p.name for p in empty.iterdir()) == ["README.md", "config.yaml", "feats.yaml", "model.pth"]
    (empty / "README.md").write_text("edited")
    with pytest.raises(ValueError, match="already holds other files"):
        Vocoder.from_pretrained(archive, unpack_dir=empty)
    assert (empty / "README.md").read_text() == "edited"
