"""Install espnet2-spiking: Spiking Vocos as an ESPnet plugin.

The pins are the versions checked to work together (Python 3.11; see README.md, Install).
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

# ESPnet's own entry points (python -m espnet2.bin.gan_tts_train, tts_inference, ...) import no
# plugin; this .pth file in site-packages installs a finder that registers espnet2_spiking when
# ESPnet's TTS modules load (espnet2_spiking_autoload.py: it imports nothing else at start-up).
AUTOLOAD_PTH = ("espnet2_spiking_autoload.pth", "import espnet2_spiking_autoload; espnet2_spiking_autoload.install()\n")


class build_py_with_autoload(build_py):
    """A regular install: the .pth file goes to the root of the wheel, i.e. site-packages."""

    def run(self):
        super().run()
        Path(self.build_lib, AUTOLOAD_PTH[0]).write_text(AUTOLOAD_PTH[1])


class editable_wheel_with_autoload(editable_wheel):
    """``pip install -e``: setuptools builds the editable wheel from a strategy; add the .pth to it."""

    def _select_strategy(self, *args, **kwargs):
        return _WithAutoload(super()._select_strategy(*args, **kwargs))


class _WithAutoload:
    def __init__(self, strategy):
        self.strategy = strategy

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        wheel.writestr(*AUTOLOAD_PTH)


install_requires = [
    "torch==2.9.1",
    "torchaudio==2.9.1",
    "espnet==202511",
    "spikingjelly==2.0.0",
    "kaldiio>=2.18.1",
    "soundfile>=0.13",
    "sentencepiece==0.2.0",
    "numpy",
    "pyyaml",
    "typeguard",
    # inflect 7 (pulled in by ESPnet's g2p) instruments itself with typeguard when imported:
    # 6 s of CPU at every start of an ESPnet process; inflect 6 imports in 0.3 s
    "inflect<7",
]

extras_require = {
    # quality / energy / speed benchmarks and plots
    "eval": [
        "torchcrepe==0.0.24",
        "pesq==0.0.4",
        "pystoi==0.4.1",
        "matplotlib",
        "tqdm",
        # DNSMOS (P.808/P.835) of text-to-wav output, which has no reference: its ONNX
        # models ship in the wheel (run with onnxruntime and librosa, which it does not declare)
        "speechmos==0.0.1.1",
        "onnxruntime==1.32.0",
        "librosa",
    ],
    # ONNX export (torch's exporter needs onnxscript) and decoding with onnxruntime
    "onnx": [
        "onnx==1.23.2",
        "onnxscript==0.7.2",
        "onnxruntime==1.32.0",
    ],
    # tests; the public vocos package is the teacher's reference implementation
    "dev": [
        "pytest",
        "vocos==0.1.0",
    ],
}
extras_require["all"] = sorted(set(sum(extras_require.values(), [])))

setup(
    name="espnet2_spiking",
    version="0.1.0",
    description="Spiking Vocos: an energy-efficient spiking-neural-network vocoder for ESPnet",
    packages=find_packages(include=["espnet2_spiking", "espnet2_spiking.*"]),
    py_modules=["espnet2_spiking_autoload"],
    cmdclass={"build_py": build_py_with_autoload, "editable_wheel": editable_wheel_with_autoload},
    python_requires=">=3.10",
    install_requires=install_requires,
    extras_require=extras_require,
    license="Apache-2.0",
)
