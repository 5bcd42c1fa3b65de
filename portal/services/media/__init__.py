"""The media library: the access policy (`access`), library queries, playback, continue watching;
managing assets: captions, edits and re-gating, deletion, the change record."""
