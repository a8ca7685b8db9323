#!/usr/bin/env python3
"""Extracts the four cuDNN libraries the binding tests need from Maven Central's redistributable.

org.bytedeco:cuda:12.6-9.5-1.5.11:linux-x86_64-redist is a 2 GB jar; this reads only its zip
directory and the entries named below (about 85 MB) with HTTP range requests. Development-time
only: with them, the descriptor test of backends/cudnn runs on a machine without a GPU:

    python3 tools/fetch_cudnn_redist.py /tmp/cudnn
    ./mvnw -pl backends/cudnn test -Dtest=GpuBackendTest -Dglassbox.cuda.path=/tmp/cudnn
"""
import io
import os
import sys
import urllib.request
import zipfile

URL = ("https://repo.maven.apache.org/maven2/org/bytedeco/cuda/12.6-9.5-1.5.11/"
       "cuda-12.6-9.5-1.5.11-linux-x86_64-redist.jar")
LIBRARIES = ["libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9"]


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file: each read is one HTTP range request."""

    def __init__(self, url):
        self.url = url
        self.pos = 0
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as r:
            self.size = int(r.headers["Content-Length"])

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer):
        if self.pos >= self.size or len(buffer) == 0:
            return 0
        end = min(self.size, self.pos + len(buffer)) - 1
        request = urllib.request.Request(self.url, headers={"Range": "bytes=%d-%d" % (self.pos, end)})
        with urllib.request.urlopen(request) as r:
            data = r.read()
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fetch_cudnn_redist.py OUTPUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    jar = zipfile.ZipFile(io.BufferedReader(RangeFile(URL), buffer_size=1 << 22))
    for entry in jar.infolist():
        name = entry.filename.rsplit("/", 1)[-1]
        if name in LIBRARIES:
            target = os.path.join(out, name)
            with jar.open(entry) as src, open(target + ".part", "wb") as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
            os.replace(target + ".part", target)  # whole or not at all
            print("%s (%d bytes)" % (target, entry.file_size))


if __name__ == "__main__":
    main()
