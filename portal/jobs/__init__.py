"""RQ jobs: importable by dotted path, given ids, run inside the worker's app context."""
