"""What every entry point of the plugin shares: ESPnet's log format."""

import logging

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(level="INFO"):
    """Log to stderr in ESPnet's format at ``level`` (a name or a ``logging`` constant)."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
