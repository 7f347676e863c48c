#!/usr/bin/env python3
"""Decode with a trained vocoder: waveforms (copy synthesis) or log-mels in, waveforms out.

Example:
    python -m espnet2_spiking.bin.gan_vocoder_inference \\
        --model_file exp/snn/valid.mel_loss.best.pth \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound --output_dir out/
    # from mel features (Kaldi ark, frames x mels):
    ... --data_path_and_name_and_type dump/fbank/test/feats.scp,feats,kaldi_ark

Writes ``<output_dir>/wav/<utt_id>.wav`` (each in one step: never a truncated file) and,
when every utterance is decoded, ``<output_dir>/wav.scp``; the ``wav.scp`` of an earlier
decoding into the same folder is removed first, so it never lists a mix of two runs.
Inputs longer than ``--chunk_seconds`` (default 20 s) are decoded in overlapping chunks, in
bounded memory, with the samples of whole-utterance decoding.

Refused before anything is written: duplicate utterance ids and ids that are not safe file
names, audio shorter than the model needs (``n_fft // 2 + 1`` samples), at another rate or
not mono, and a second run into the same ``--output_dir`` (``<output_dir>/.lock``). An
utterance that cannot be decoded (NaN or infinite values in its input or output, ...) is
named with its input file and the rest is decoded; the failures are listed at the end, no
``wav.scp`` is written and the exit status is non-zero. Samples above full scale (clipped
by 16-bit PCM) are named in a warning.

Inputs are read by ESPnet's readers. Kaldi's shell commands (a list value ending in
``|``, e.g. ``utt1 sox a.flac -t wav - |``) are refused, because lists handed over by
others must not run commands: format such audio first (``espnet2_spiking.bin.format_wav_scp``,
the recipe's stage 2; ESPnet's ``sound`` reader reads files only anyway), and pass
``--allow_pipes true`` to let kaldiio run the commands of a ``kaldi_ark`` list you trust.

``--model_file`` may also be a vocoder directory or the archive of ``bin/pack_vocoder``;
``--ngpu 1`` decodes on a GPU. In Python, :class:`espnet2_spiking.vocoder.Vocoder` decodes.
"""

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional

from espnet2.utils.types import str2bool, str2triple_str, str_or_none

from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.allocator import keep_freed_memory
from espnet2_spiking.utils.audio import check_generated, check_wav_scp, refuse_pipe, write_wav
from espnet2_spiking.utils.cli import add_device_arguments, device_of, non_negative_float, setup_logging
from espnet2_spiking.utils.files import FolderLock, write_text
from espnet2_spiking.utils.scp import read_scp
from espnet2_spiking.vocoder import DEFAULT_CHUNK_SECONDS, Vocoder


def check_inputs(data_path_and_name_and_type, vocoder: Vocoder, allow_pipes: bool = False):
    """The pre-flight of decoding: lists, keys, shell commands and, for audio, every file's header.

    ESPnet's ``sound`` reader reads files only, so a command there is always refused;
    kaldiio runs those of a ``kaldi_ark`` list, which ``allow_pipes`` lets through.
    """
    for path, _, kind in data_path_and_name_and_type:
        if kind == "sound":
            check_wav_scp(path, vocoder.fs, vocoder.feats_extract.min_samples)
            continue
        entries = read_scp(path)  # keys become file names: refuse duplicates and unsafe ones first
        if not allow_pipes:
            for utt, value in entries.items():
                refuse_pipe(value, f"{path}: the input of {utt}")


def inference(
    model_file: str,
    train_config: Optional[str],
    data_path_and_name_and_type,
    output_dir: str,
    key_file: Optional[str] = None,
    device: str = "cpu",
    num_workers: int = 1,
    chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
    allow_pipes: bool = False,
):
    """Decode every utterance of the inputs (or of ``key_file``) into ``<output_dir>/wav``.

    Raises:
        ValueError: Bad inputs (before anything is written), or utterances that could not
            be decoded (after the others were), each named with its input.
        RuntimeError: Another run writes ``output_dir``.
        OSError: An output cannot be written (e.g. a full disk), naming it.
    """
    vocoder = Vocoder.from_pretrained(model_file, train_config, device, chunk_seconds)
    check_inputs(data_path_and_name_and_type, vocoder, allow_pipes)
    if key_file is not None:
        read_scp(key_file)
    with FolderLock(output_dir, "gan_vocoder_inference"):
        _decode(vocoder, data_path_and_name_and_type, Path(output_dir), key_file, num_workers)


def _decode(vocoder: Vocoder, data_path_and_name_and_type, output_dir: Path, key_file, num_workers: int):
    """:func:`inference` once the inputs are checked and ``output_dir`` is locked."""
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
    wav_dir, wav_scp = output_dir / "wav", output_dir / "wav.scp"
    if wav_scp.exists():
        logging.warning(f"{output_dir} holds an earlier decoding: its wav.scp is removed, its files are replaced")
        wav_scp.unlink()
    wav_dir.mkdir(parents=True, exist_ok=True)
    sources = ", ".join(path for path, _, _ in data_path_and_name_and_type)
    total_samples, start, lines, failed = 0, time.perf_counter(), [], {}
    for i, (keys, batch) in enumerate(loader, 1):
        utt = keys[0]
        try:
            if "feats" in batch:
                wav = vocoder.decode(batch["feats"][0])
            elif "speech" in batch:
                wav = vocoder.copy_synthesis(batch["speech"][0])
            else:
                raise ValueError("Give a 'speech' (sound) or 'feats' (kaldi_ark) input.")
            out = write_wav(wav_dir / f"{utt}.wav", check_generated(wav, utt), vocoder.fs)
        except (ValueError, RuntimeError) as e:  # RuntimeError: torch's, e.g. out of memory
            failed[utt] = f"{utt} (from {sources}): {e}"
            logging.error(f"could not decode {failed[utt]}; nothing was written for it")
            continue
        lines.append(f"{utt} {out}\n")
        total_samples += wav.numel()
        if i % 10 == 0:
            logging.info(f"{i} utterances decoded")
    if failed:
        raise ValueError(
            f"{len(failed)} of {len(failed) + len(lines)} utterances could not be decoded, so {wav_scp} "
            f"was not written (the others are in {wav_dir}):\n" + "\n".join(failed.values())
        )
    write_text(wav_scp, "".join(lines))
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
        help="e.g. dump/raw/test/wav.scp,speech,sound or feats.scp,feats,kaldi_ark; read by ESPnet's "
        "readers; Kaldi's shell commands ('cmd |' values) are refused (see --allow_pipes)",
    )
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument(
        "--key_file", type=str_or_none, default=None, help="Decode only these utterances (a split of the set)"
    )
    add_device_arguments(parser)
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument(
        "--chunk_seconds",
        type=non_negative_float,
        default=DEFAULT_CHUNK_SECONDS,
        help="Decode longer inputs in overlapping chunks of this many seconds (bounded memory, same "
        "samples); 0: always whole",
    )
    parser.add_argument(
        "--allow_pipes",
        type=str2bool,
        default=False,
        help="Let kaldiio run the Kaldi shell commands ('cmd |' values) of kaldi_ark lists; refused by "
        "default, since a list handed over by someone else must not run commands (sound lists: files only)",
    )
    parser.add_argument("--log_level", type=str, default="INFO")
    return parser


def main(cmd=None):
    print(" ".join(sys.argv), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    keep_freed_memory()
    kwargs = vars(args)
    kwargs.pop("log_level")
    kwargs["device"] = device_of(kwargs.pop("ngpu"), kwargs["device"])
    inference(**kwargs)


if __name__ == "__main__":
    main()
