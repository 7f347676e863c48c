"""Checking a vocoder's config before anything is built from it: every setting, named.

The weights pin down only the settings that shape a parameter; the others (``time_steps``,
``hop_length``, ``n_fft`` of the features, ...) would be trusted as written. So every
setting of ``feats_extract_conf`` and ``generator_conf`` is checked against what it must
satisfy, and a bad one is refused naming the key and the file:

- known keys (a typo is named with the closest known key) and their types;
- positive sizes (every whole-number setting), an odd ``kernel_size``;
- the features: ``win_length <= n_fft``, ``hop_length <= n_fft``, ``n_mels`` within the
  ``n_fft // 2 + 1`` FFT bins, ``0 <= fmin < fmax <= fs / 2``, ``log_floor > 0``;
- the memory that decoding one second of audio takes (:func:`decoding_bytes`), against
  this machine's memory, with the estimate in the message.
"""

import difflib
import inspect
import os
from pathlib import Path
from typing import Any, Dict, Union

from typeguard import TypeCheckError, check_type

from espnet2_spiking.layers.mel import VocosLogMel

# settings of the generators that must be above 0 (whole-number ones are checked by type)
POSITIVE = ("v_threshold", "surrogate_alpha", "init_firing_rate", "readout_decay", "layer_scale_init_value")
ABOVE_ONE = ("init_tau",)  # a PLIF time constant: its decay 1 / tau must be below 1


def machine_memory() -> int:
    """Bytes of memory of this machine (physical)."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def decoding_bytes(settings: Dict[str, Any], frames: float) -> int:
    """About the most memory that decoding ``frames`` frames at once takes (an upper bound).

    While a block runs, the hidden state of every block (kept for the distillation
    hooks) and about three tensors of the block's MLP are alive, each at every SNN time
    step: ``T * (num_layers * dim + 3 * intermediate_dim + 3 * dim)`` float32 values per
    frame. Twice that bounds what was measured on CPU (26 MB per second of 24 kHz audio for
    the full-size student, T=4; 13-18 MB for small ones with T=16 and 64).

    Args:
        settings: A generator's ``settings`` (``dim``, ``intermediate_dim``, ``num_layers``,
            and ``time_steps`` for a spiking one).
        frames: Frames decoded at once.
    """
    steps = settings.get("time_steps") or 1
    per_step = settings["num_layers"] * settings["dim"] + 3 * settings["intermediate_dim"] + 3 * settings["dim"]
    return int(2 * 4 * steps * per_step * frames)


def check_decoding_memory(settings: Dict[str, Any], fs: int, hop_length: int, seconds: float, where: str):
    """Refuse a vocoder whose decoding of ``seconds`` of audio needs more memory than the machine has.

    Args:
        settings: The generator's settings.
        fs, hop_length: Its features' sample rate and hop, in Hz and samples.
        seconds: Audio decoded at once (a chunk, or one second).
        where: Where the settings come from (e.g. the config file), for the message.
    """
    per_second, have = decoding_bytes(settings, fs / hop_length), machine_memory()
    if per_second * seconds <= have:
        return
    names = ("time_steps", "dim", "intermediate_dim", "num_layers")
    shape = ", ".join(f"{k}={settings[k]}" for k in names if k in settings)
    fix = (
        f"Decode in chunks of at most {have / per_second:.0f} s (--chunk_seconds)."
        if have >= per_second
        else "Not even one second fits: check these settings (for a trained model, its own config.yaml)."
    )
    raise ValueError(
        f"{where} ({shape}): decoding {seconds:g} s of audio at once would take about "
        f"{per_second * seconds / 2**30:,.1f} GiB ({per_second / 2**20:,.0f} MiB per second of audio), more "
        f"than this machine's {have / 2**30:,.1f} GiB. {fix}"
    )


def _check_keys_and_types(conf: Any, cls, name: str, config: Path) -> Dict[str, Any]:
    """Refuse unknown keys and wrong types of ``conf``, the keyword arguments of ``cls``."""
    if conf is None:
        return {}
    if not isinstance(conf, dict):
        raise ValueError(f"{config}: {name} must be a mapping of settings, got {type(conf).__name__} {conf!r}.")
    parameters = dict(list(inspect.signature(cls.__init__).parameters.items())[1:])
    for key, value in conf.items():
        if key not in parameters:
            close = difflib.get_close_matches(str(key), parameters, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise ValueError(
                f"{config}: {name}.{key} is not a setting of {cls.__name__}.{hint} "
                f"Its settings: {', '.join(parameters)}."
            )
        annotation = parameters[key].annotation
        if annotation is inspect.Parameter.empty:
            continue
        try:
            check_type(value, annotation)
        except TypeCheckError:
            expected = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
            raise ValueError(
                f"{config}: {name}.{key} is {value!r} ({type(value).__name__}), but it must be {expected}."
            ) from None
    return conf


def check_features(conf: Any, config: Union[str, Path], name: str = "feats_extract_conf") -> VocosLogMel:
    """Check a ``vocos_mel`` ``feats_extract_conf``; return the features it describes.

    Raises:
        ValueError: A setting is unknown, of the wrong type or out of range, naming it and ``config``.
    """
    conf = _check_keys_and_types(conf, VocosLogMel, name, Path(config))
    parameters = list(inspect.signature(VocosLogMel.__init__).parameters.values())[1:]
    s = {p.name: conf.get(p.name, p.default) for p in parameters}  # every setting, defaults filled in
    for key in ("fs", "n_fft", "hop_length", "n_mels", "win_length"):
        if s[key] is not None and s[key] < 1:
            raise ValueError(f"{config}: {name}.{key} is {s[key]}; it must be at least 1.")
    bins = s["n_fft"] // 2 + 1
    nyquist = s["fs"] / 2
    fmax = nyquist if s["fmax"] is None else s["fmax"]
    rules = [
        (s["hop_length"] <= s["n_fft"], "hop_length", f"at most n_fft={s['n_fft']}: frames must overlap or touch"),
        (s["win_length"] is None or s["win_length"] <= s["n_fft"], "win_length", f"at most n_fft={s['n_fft']}"),
        (s["n_mels"] <= bins, "n_mels", f"at most the {bins} FFT bins of n_fft={s['n_fft']}, or mel bins stay empty"),
        (0 <= s["fmin"] < fmax, "fmin", f"at least 0 and below fmax={fmax}"),
        (fmax <= nyquist, "fmax", f"at most fs / 2 = {nyquist}"),
        (s["log_floor"] > 0, "log_floor", "above 0 (the log of the floor)"),
    ]
    for ok, key, rule in rules:
        if not ok:
            raise ValueError(f"{config}: {name}.{key} is {s[key]}; it must be {rule}. Fix it in {config}.")
    return VocosLogMel(**conf)


def check_generator(conf: Any, generator_class, config: Union[str, Path], name: str = "generator_conf"):
    """Check a ``generator_conf`` of ``generator_class``: keys, types and ranges.

    Raises:
        ValueError: A setting is unknown, of the wrong type or out of range, naming it and ``config``.
    """
    conf = _check_keys_and_types(conf, generator_class, name, Path(config))
    parameters = inspect.signature(generator_class.__init__).parameters
    for key, value in conf.items():
        whole = parameters[key].annotation in (int, Union[int, None])
        if value is None:
            continue
        if whole and value < 1 or key in POSITIVE and value <= 0 or key in ABOVE_ONE and value <= 1:
            bound = "at least 1" if whole else "above 1" if key in ABOVE_ONE else "above 0"
            raise ValueError(f"{config}: {name}.{key} is {value}; it must be {bound}. Fix it in {config}.")
    if conf.get("kernel_size", 1) % 2 == 0:
        raise ValueError(
            f"{config}: {name}.kernel_size is {conf['kernel_size']}; it must be odd, so that the "
            "convolutions keep the number of frames."
        )


def check_vocoder_config(args, config: Union[str, Path], generator_class) -> VocosLogMel:
    """Check the features and the generator of a ``gan_vocoder_train`` config, and its decoding memory.

    Args:
        args: The config's settings (``feats_extract_conf``, ``generator_conf``).
        config: Its file, named in messages.
        generator_class: The class ``generator`` names.

    Returns:
        The features it describes.
    """
    feats = check_features(getattr(args, "feats_extract_conf", None), config)
    check_generator(getattr(args, "generator_conf", None), generator_class, config)
    parameters = list(inspect.signature(generator_class.__init__).parameters.values())[1:]
    settings = dict({p.name: p.default for p in parameters}, **(getattr(args, "generator_conf", None) or {}))
    check_decoding_memory(settings, feats.fs, feats.hop_length, 1.0, f"{config}: generator_conf")
    return feats
