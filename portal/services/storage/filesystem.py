"""Files under a directory: the embedded default; the portal serves them through signed, expiring links."""

import os
import shutil
import tempfile
from pathlib import Path


class FilesystemStorage:
    """Objects as files below `root`, written atomically; downloads go through the portal."""

    name = "filesystem"
    presigns = False

    def __init__(self, root):
        self.root = Path(root)

    @classmethod
    def from_config(cls, config):
        """Storage under MEDIA_STORAGE_DIR."""
        return cls(config["MEDIA_STORAGE_DIR"])

    def path(self, key):
        """The file of an object key (keys are portal-made: `media/<asset id>/<random>.<ext>`)."""
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"object key outside the storage root: {key!r}")
        return path

    def put(self, key, fileobj, content_type):
        """Copy a readable file object to `key` (through a temp file, so readers never see half of it)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(fileobj, out, 1024 * 1024)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def delete(self, key):
        """Remove an object (a missing one is fine)."""
        self.path(key).unlink(missing_ok=True)

    def exists(self, key):
        """Whether the object is there."""
        return self.path(key).is_file()
