"""`testfs://` paths kept under a local folder: a Beam filesystem standing in for gs:// in tests."""

from __future__ import annotations

import os

from apache_beam.io.filesystem import FileMetadata, FileSystem
from apache_beam.io.localfilesystem import LocalFileSystem

SCHEME = "testfs"
PREFIX = f"{SCHEME}://"


class PrefixFileSystem(FileSystem):
    """Every path is `testfs://<relative>`, stored at `<root>/<relative>`; set `root` first
    (and `scheme`, to stand in for another filesystem such as gs://)."""

    root = ""
    _disk = LocalFileSystem(pipeline_options=None)

    @classmethod
    def scheme(cls) -> str:
        return SCHEME

    def _local(self, path: str) -> str:
        prefix = f"{self.scheme()}://"
        assert path.startswith(prefix), f"{path} is not a {self.scheme()} path"
        return os.path.join(self.root, path[len(prefix) :])

    def _remote(self, path: str) -> str:
        return f"{self.scheme()}://" + os.path.relpath(path, self.root)

    def join(self, base: str, *paths: str) -> str:
        return "/".join([base.rstrip("/"), *paths])

    def split(self, path: str) -> tuple[str, str]:
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def has_dirs(self) -> bool:
        return True

    def _list(self, dir_or_prefix: str):
        for folder, _, files in os.walk(self._local(dir_or_prefix)):
            for name in files:
                path = os.path.join(folder, name)
                yield FileMetadata(
                    self._remote(path), os.path.getsize(path), os.path.getmtime(path)
                )

    def mkdirs(self, path):
        return self._disk.mkdirs(self._local(path))

    def create(self, path, *args, **kwargs):
        return self._disk.create(self._local(path), *args, **kwargs)

    def open(self, path, *args, **kwargs):
        return self._disk.open(self._local(path), *args, **kwargs)

    def copy(self, sources, destinations):
        return self._disk.copy(
            [self._local(p) for p in sources], [self._local(p) for p in destinations]
        )

    def rename(self, sources, destinations):
        return self._disk.rename(
            [self._local(p) for p in sources], [self._local(p) for p in destinations]
        )

    def exists(self, path):
        return self._disk.exists(self._local(path))

    def size(self, path):
        return self._disk.size(self._local(path))

    def last_updated(self, path):
        return self._disk.last_updated(self._local(path))

    def checksum(self, path):
        return self._disk.checksum(self._local(path))

    def metadata(self, path):
        metadata = self._disk.metadata(self._local(path))
        return FileMetadata(path, metadata.size_in_bytes, metadata.last_updated_in_seconds)

    def delete(self, paths):
        return self._disk.delete([self._local(p) for p in paths])
