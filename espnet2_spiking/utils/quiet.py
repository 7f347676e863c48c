"""Importing ESPnet without its harmless start-up noise, which reads like a failure.

At import, ESPnet's phoneme tokenizer imports ``g2p_en``, which asks NLTK to download two
data packages when they are missing: offline (a cluster node) that prints 8 lines of
``[nltk_data] Error loading ...``, at every start of every entry point. And ESPnet's
attention module prints ``Failed to import Flash Attention`` (an optional GPU package).
:func:`import_espnet_quietly` imports both modules once, without the download attempt
and without that one line; nothing else is hidden. A text-to-speech model whose
tokenizer is ``g2p_en`` still needs the NLTK data: without it, tokenizing fails with
NLTK's own error, which names the package and the download command
(``python -c "import nltk; nltk.download('cmudict')"``).
"""

import contextlib
import io
import logging
import sys

logger = logging.getLogger(__name__)
FLASH_ATTENTION_NOTICE = "Failed to import Flash Attention"


@contextlib.contextmanager
def _no_nltk_downloads():
    try:
        import nltk
    except ImportError:
        yield
        return
    download = nltk.download

    def skipped(info_or_id=None, *args, **kwargs):
        logger.debug(f"NLTK data {info_or_id!r} is not downloaded at import (g2p_en asks for it)")
        return False

    nltk.download = skipped
    try:
        yield
    finally:
        nltk.download = download


@contextlib.contextmanager
def _without_flash_attention_notice():
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        lines = printed.getvalue().splitlines(True)
        sys.stdout.write("".join(line for line in lines if not line.startswith(FLASH_ATTENTION_NOTICE)))


def import_espnet_quietly():
    """Import ESPnet's noisy modules (see the module docstring); later imports are silent."""
    with _no_nltk_downloads(), _without_flash_attention_notice():
        try:
            import espnet.nets.pytorch_backend.transformer.attention  # noqa: F401
            import espnet2.text.phoneme_tokenizer  # noqa: F401
        except ImportError as e:  # an optional dependency missing: ESPnet raises it again where needed
            logger.debug(f"not imported at start-up: {e}")
