"""Registers espnet2_spiking with ESPnet when ESPnet's TTS modules are imported.

ESPnet has no plugin entry points: its choice tables are module-level objects, and its own
entry points (``python -m espnet2.bin.gan_tts_train``, ``tts_train``, ``tts_inference``, as
``egs2/TEMPLATE/tts1/tts.sh`` starts them) never import a plugin. The package installs
``espnet2_spiking_autoload.pth`` into site-packages, which imports this module when Python
starts. It imports nothing itself and costs one finder on ``sys.meta_path``: when one of the
ESPnet modules of :data:`TRIGGERS` has been executed, it runs the registration function of
:mod:`espnet2_spiking.registry` named there, so ``vocoder_type: spiking_vocos``,
``feats_extract: vocos_mel`` and ``--vocoder_file <plugin vocoder>`` work in ESPnet's own
entry points. A process that never imports those modules never imports the plugin.

``ESPNET2_SPIKING_AUTOLOAD=0`` in the environment turns it off.
"""

import os
import sys
import warnings

# ESPnet module -> the function of espnet2_spiking.registry to run once it is loaded
TRIGGERS = {
    "espnet2.gan_tts.joint.joint_text2wav": "register",
    "espnet2.tasks.tts": "register_tts_tasks",
    "espnet2.tasks.gan_tts": "register_tts_tasks",
}


class _RegisteringLoader:
    """Wraps the loader of an ESPnet module: executes it, then registers the plugin."""

    def __init__(self, loader, function: str):
        self.loader = loader
        self.function = function

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        AutoloadFinder.register(self.function)

    def __getattr__(self, name):  # get_code, get_source, ... for tracebacks and pickling
        return getattr(self.loader, name)


class AutoloadFinder:
    """A ``sys.meta_path`` finder that only watches the modules of :data:`TRIGGERS`."""

    _searching = False  # set while the real spec is looked up, so we do not find ourselves
    _registering = False  # registration imports the other triggers: they wait for it

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in TRIGGERS or cls._searching:
            return None
        cls._searching = True
        try:
            for finder in sys.meta_path:
                if finder is cls or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            cls._searching = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader, TRIGGERS[name])
        return spec

    @classmethod
    def register(cls, function: str):
        if cls._registering:
            return
        cls._registering = True
        try:
            from espnet2_spiking import registry

            getattr(registry, function)()
        except Exception as e:  # ESPnet itself must keep working when the plugin is broken
            warnings.warn(
                f"espnet2_spiking could not register with ESPnet ({type(e).__name__}: {e}); "
                "spiking_vocos, vocos and vocos_mel are unavailable in this process. Reinstall the "
                "plugin (README: Install), or set ESPNET2_SPIKING_AUTOLOAD=0 to silence this.",
                RuntimeWarning,
            )
        finally:
            cls._registering = False


def install():
    """Put :class:`AutoloadFinder` first on ``sys.meta_path`` (once; not when turned off)."""
    if os.environ.get("ESPNET2_SPIKING_AUTOLOAD", "1") == "0" or AutoloadFinder in sys.meta_path:
        return
    sys.meta_path.insert(0, AutoloadFinder)
