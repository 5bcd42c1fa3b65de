"""The media library: the access policy (`access`), library queries, playback, continue watching."""
