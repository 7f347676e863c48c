"""The plugin's cache folder: what it keeps between runs, in one place per user.

``$XDG_CACHE_HOME/espnet2_spiking`` (default ``~/.cache/espnet2_spiking``), holding
``crepe/`` (pitch tracks of ``bin/evaluate``) and ``vocoders/`` (unpacked vocoder archives).
"""

import os
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "espnet2_spiking"
