"""Install espnet2-spiking: Spiking Vocos as an ESPnet plugin.

The pins are the versions checked to work together (Python 3.11; see README.md, Install).
"""

from setuptools import find_packages, setup

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
    python_requires=">=3.10",
    install_requires=install_requires,
    extras_require=extras_require,
    license="Apache-2.0",
)
