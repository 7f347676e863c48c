"""Measure how closely converted reference checkpoints decode to the reference's waveform, at full size.

For each of the reference's five generators, a checkpoint in its format (Lightning layout, its
key names, its Lightning-CLI config.yaml; the sizes of its configs/vocos*.yaml: 24 kHz,
n_fft 1024, hop 256, 100 mels, dim 512, 8 blocks, T = 4, channel_folding_factor 32) with
random weights is converted with ``convert_spiking_vocos`` and decodes a 2 s harmonic tone;
the waveform is compared with the reference's forward pass written from torch primitives,
spikingjelly's ParametricLIFNode and ``torch.istft(center=True)`` (the tests' reference), and,
for the teacher, with the public ``vocos`` package's own modules (the reference's teacher classes).

    PYTHONPATH=. OMP_NUM_THREADS=1 python docs/reference_equivalence.py
"""

import tempfile
import time
from pathlib import Path

import torch
import yaml
from spikingjelly.activation_based import monitor, neuron

from espnet2_spiking.gan_vocoder.convert import convert_reference
from espnet2_spiking.vocoder import Vocoder
from tests.conftest import harmonic_tone
from tests.test_convert_spiking_vocos import (
    FULL,
    VARIANTS,
    lightning_config,
    reference_decode,
    reference_features,
    write_run,
)


def public_vocos_decode(sd, audio):
    """The teacher through the public vocos package's modules, with the head's "center" padding."""
    import vocos

    init = lightning_config("vocos", FULL)["model"]["init_args"]
    model = vocos.Vocos(
        vocos.feature_extractors.MelSpectrogramFeatures(**init["feature_extractor"]["init_args"]),
        vocos.models.VocosBackbone(**init["backbone"]["init_args"]),
        vocos.heads.ISTFTHead(**init["head"]["init_args"]),
    ).eval()
    # its own filter bank (the checkpoint written here holds random feature buffers)
    model.load_state_dict({k: v for k, v in sd.items() if k.startswith(("backbone.", "head."))}, strict=False)
    with torch.no_grad():
        return model(audio[None])[0]


def decode_with(out_dir: Path, audio: torch.Tensor, **changes) -> torch.Tensor:
    """Decode with the converted config's generator_conf changed (what a wrong setting costs)."""
    config = yaml.safe_load((out_dir / "config.yaml").read_text())
    config["generator_conf"].update(changes)
    (out_dir / "changed.yaml").write_text(yaml.safe_dump(config))
    return Vocoder(out_dir / "model.pth", out_dir / "changed.yaml").copy_synthesis(audio)


def main():
    torch.manual_seed(0)
    audio = torch.from_numpy(harmonic_tone(FULL["sample_rate"], 2.0))
    print("| generator | converted in | samples | peak | max abs diff | firing rates (min-max) "
          "| max abs diff, head padding same | max abs diff, TSM mirrored |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for variant, (_, backbone) in VARIANTS.items():
            checkpoint, sd = write_run(Path(tmp) / variant, variant, size=FULL)
            start = time.perf_counter()
            convert_reference(checkpoint, Path(tmp) / variant / "converted")
            seconds = time.perf_counter() - start
            vocoder = Vocoder.from_pretrained(Path(tmp) / variant / "converted")
            spikes = monitor.OutputMonitor(vocoder.generator, neuron.BaseNode)
            wav = vocoder.copy_synthesis(audio)
            rates = [s.float().mean().item() for s in spikes.records]
            with torch.no_grad():
                expected = reference_decode(sd, variant, reference_features(audio[None], FULL), FULL)[0]
            diff = (wav - expected).abs().max().item()
            rate = f"{min(rates):.3f}-{max(rates):.3f}" if rates else "-"
            out_dir = Path(tmp) / variant / "converted"
            same = decode_with(out_dir, audio, padding="same")[: expected.numel()]
            wrong = [f"{(same - expected).abs().max():.2f}"]
            if "TSM" in variant:
                mirrored = decode_with(out_dir, audio, tsm_direction="mirrored")
                wrong.append(f"{(mirrored - expected).abs().max():.3f}")
            else:
                wrong.append("-")
            print(f"| {backbone} | {seconds:.1f} s | {wav.numel()} | {expected.abs().max():.3f} | {diff:.1e} | {rate} "
                  f"| {' | '.join(wrong)} |")
            if variant == "vocos":
                public = public_vocos_decode(sd, audio)
                diff = (wav - public).abs().max().item()
                print(f"| (same, against the public vocos package's modules) | | {public.numel()} | "
                      f"{public.abs().max():.3f} | {diff:.1e} | - | | |")


if __name__ == "__main__":
    main()
