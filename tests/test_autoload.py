"""The plugin registers itself in ESPnet's own processes, and costs nothing where ESPnet is not used."""

import os
import subprocess
import sys


def run_python(code: str, **env):
    """Run ``code`` in a fresh interpreter of this environment (site-packages' .pth files apply)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_startup_imports_no_plugin_and_no_torch():
    """The .pth file adds one finder; nothing of the plugin, ESPnet or torch is imported at start-up."""
    out = run_python(
        "import sys; print(type(sys.meta_path[0]).__name__ if not isinstance(sys.meta_path[0], type) "
        "else sys.meta_path[0].__name__); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('espnet2_spiking', 'espnet2', 'torch')))"
    )
    assert out == ["AutoloadFinder", "[]"]


def test_importing_joint_text2wav_registers_the_vocoders():
    """What ESPnet's own code imports is enough: no ``import espnet2_spiking`` anywhere."""
    out = run_python(
        "import espnet2.gan_tts.joint.joint_text2wav as j; print(sorted(k for k in j.AVAILABLE_VOCODER if 'vocos' in k))"
    )
    assert out[-1] == str(["spiking_vocos", "vocos"])


def test_espnet_entry_point_lists_the_plugin_choices():
    """``python -m espnet2.bin.tts_train``, exactly as tts.sh starts it, offers ``vocos_mel``."""
    result = subprocess.run(
        [sys.executable, "-m", "espnet2.bin.tts_train", "--help"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    feats_line = next(line for line in result.stdout.splitlines() if "--feats_extract {" in line)
    assert "vocos_mel" in feats_line and "fbank" in feats_line


def test_autoload_can_be_turned_off():
    out = run_python(
        "import espnet2.gan_tts.joint.joint_text2wav as j, sys; "
        "print('spiking_vocos' in j.AVAILABLE_VOCODER, 'espnet2_spiking' in sys.modules)",
        ESPNET2_SPIKING_AUTOLOAD="0",
    )
    assert out[-1] == "False False"
