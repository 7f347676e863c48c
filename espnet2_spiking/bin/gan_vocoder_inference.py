#!/usr/bin/env python3
"""Decode with a trained vocoder: waveforms (copy synthesis) or log-mels in, waveforms out.

Example:
    python -m espnet2_spiking.bin.gan_vocoder_inference \\
        --model_file exp/snn/valid.mel_loss.best.pth \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound --output_dir out/
    # from mel features (Kaldi ark, frames x mels):
    ... --data_path_and_name_and_type dump/fbank/test/feats.scp,feats,kaldi_ark

Writes ``<output_dir>/wav/<utt_id>.wav`` and ``<output_dir>/wav.scp``.

Python:
    >>> from espnet2_spiking.bin.gan_vocoder_inference import Vocoder
    >>> vocoder = Vocoder.from_pretrained("exp/snn/valid.mel_loss.best.pth")
    >>> wav = vocoder.copy_synthesis(speech)   # (N,) at vocoder.fs
    >>> wav = vocoder.decode(mel)              # mel (frames, n_mels) -> (frames * hop,)
"""

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Union

import numpy as np
import soundfile
import torch
from espnet2.utils.types import str2triple_str, str_or_none

from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.audio_check import check_wav_scp
from espnet2_spiking.utils.checkpoint import load_generator_state, load_train_config
from espnet2_spiking.utils.cli import setup_logging


class Vocoder:
    """A trained generator with its feature extractor, ready to decode.

    Args:
        model_file: Checkpoint of ``gan_vocoder_train`` (``*.pth``).
        train_config: Its ``config.yaml`` (default: beside ``model_file``).
        device: Torch device.
    """

    def __init__(
        self, model_file: Union[str, Path], train_config: Union[str, Path, None] = None, device: str = "cpu"
    ):
        _, args = load_train_config(model_file, train_config)
        self.generator_type = args.generator
        self.feats_extract = GANVocoderTask.build_feats_extract(args).to(device).eval()
        self.generator = GANVocoderTask.build_generator(args, self.feats_extract)
        self.generator.load_state_dict(load_generator_state(model_file))
        self.generator.to(device).eval()
        self.device = device

    @classmethod
    def from_pretrained(
        cls, model_file: Union[str, Path], train_config: Union[str, Path, None] = None, device: str = "cpu"
    ) -> "Vocoder":
        return cls(model_file, train_config, device)

    @property
    def fs(self) -> int:
        return self.feats_extract.fs

    @torch.inference_mode()
    def decode(self, mel: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: mel: log-mel (frames, n_mels), ESPnet's layout. Returns: waveform (frames * hop,)."""
        mel = torch.as_tensor(mel, dtype=torch.float32, device=self.device)
        return self.generator.inference(mel).view(-1)

    @torch.inference_mode()
    def copy_synthesis(self, speech: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: speech: mono waveform (N,) at ``fs``. Returns: its resynthesis (N,)."""
        speech = torch.as_tensor(speech, dtype=torch.float32, device=self.device)
        if speech.dim() != 1:
            raise ValueError(
                f"copy_synthesis expects a mono waveform (N,), got shape {tuple(speech.shape)}; "
                "mix it down to one channel first."
            )
        mel = self.feats_extract.mel(speech[None])[0]
        return self.decode(mel.transpose(0, 1))[: speech.numel()]


def inference(
    model_file: str,
    train_config: Optional[str],
    data_path_and_name_and_type,
    output_dir: str,
    key_file: Optional[str] = None,
    device: str = "cpu",
    num_workers: int = 1,
):
    vocoder = Vocoder(model_file, train_config, device)
    for path, _, kind in data_path_and_name_and_type:
        if kind == "sound":
            check_wav_scp(path, vocoder.fs)
    loader = GANVocoderTask.build_streaming_iterator(
        data_path_and_name_and_type,
        preprocess_fn=None,
        collate_fn=GANVocoderTask.build_collate_fn(argparse.Namespace(), False),
        key_file=key_file,
        batch_size=1,
        dtype="float32",
        num_workers=num_workers,
        inference=True,
    )
    wav_dir = Path(output_dir) / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    total_samples, start = 0, time.perf_counter()
    with (Path(output_dir) / "wav.scp").open("w", encoding="utf-8") as scp:
        for i, (keys, batch) in enumerate(loader, 1):
            if "feats" in batch:
                wav = vocoder.decode(batch["feats"][0])
            elif "speech" in batch:
                wav = vocoder.copy_synthesis(batch["speech"][0])
            else:
                raise ValueError("Give a 'speech' (sound) or 'feats' (kaldi_ark) input.")
            out = wav_dir / f"{keys[0]}.wav"
            soundfile.write(out, wav.cpu().numpy(), vocoder.fs, "PCM_16")
            scp.write(f"{keys[0]} {out}\n")
            total_samples += wav.numel()
            if i % 10 == 0:
                logging.info(f"{i} utterances decoded")
    elapsed = time.perf_counter() - start
    audio_seconds = total_samples / vocoder.fs
    logging.info(
        f"Decoded {audio_seconds:.1f} s of audio in {elapsed:.1f} s "
        f"(RTF {elapsed / max(audio_seconds, 1e-9):.4f}) into {wav_dir}"
    )


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Vocoder decoding (copy synthesis or mel to waveform)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model_file", type=str, required=True)
    parser.add_argument("--train_config", type=str_or_none, default=None)
    parser.add_argument(
        "--data_path_and_name_and_type",
        type=str2triple_str,
        required=True,
        action="append",
        help="e.g. dump/raw/test/wav.scp,speech,sound or feats.scp,feats,kaldi_ark",
    )
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--key_file", type=str_or_none, default=None)
    parser.add_argument("--device", type=str, default="cpu")
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument("--log_level", type=str, default="INFO")
    return parser


def main(cmd=None):
    print(" ".join(sys.argv), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    kwargs = vars(args)
    kwargs.pop("log_level")
    inference(**kwargs)


if __name__ == "__main__":
    main()
