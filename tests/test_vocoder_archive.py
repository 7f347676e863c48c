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
    assert feats["feats_extract"] == "vocos_mel"
    assert feats["feats_extract_conf"]["n_mels"] == 16 and feats["feats_extract_conf"]["hop_length"] == 16
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
