"""Decoding the utterances of data lists into a folder of waveforms: the library behind
``bin/gan_vocoder_inference`` (see its ``--help`` for what is written and refused).

:func:`check_inputs` is the pre-flight (lists, keys, shell commands, audio headers);
:func:`inference` decodes into ``<output_dir>/wav/<utt_id>.wav`` and ``<output_dir>/wav.scp``.
"""

import argparse
import logging
import time
from pathlib import Path
from typing import Optional

from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.audio import check_generated, check_wav_scp, refuse_pipe, write_wav
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
        logging.warning(f"{output_dir} holds an earlier decoding: its wav.scp is removed, files replaced")
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
