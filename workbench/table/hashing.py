"""A stable hash of ids: the same 64 bits for the same text on every machine, run and pandas version.

Python's ``hash`` changes with every process (``PYTHONHASHSEED``); pandas' ``hash_array`` is stable
but needs Python objects, which costs more than the majority vote it serves on a million rows. This
hashes the UTF-8 bytes of each id directly (Arrow's buffers when the ids are Arrow strings): a
polynomial over the bytes modulo 2**64, then MurmurHash3's 64-bit finalizer so that every bit
depends on every byte (the value is used modulo small numbers).
"""

from __future__ import annotations

import numpy as np

_BASE = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: odd, so every power is invertible mod 2**64
_LENGTH = np.uint64(0x9E3779B97F4A7C15)
_C1, _C2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


def stable_hash(ids) -> np.ndarray:
    """One ``uint64`` per id (strings; anything else is hashed as ``str(id)``)."""
    data, offsets = _utf8(ids)
    lengths = np.diff(offsets)
    starts = offsets[:-1] - offsets[0]
    out = np.zeros(len(lengths), dtype=np.uint64)
    codes = data[offsets[0]:offsets[-1]].astype(np.uint64)
    if len(codes):
        position = np.arange(len(codes), dtype=np.int64) - np.repeat(starts, lengths)
        powers = np.ones(int(lengths.max()), dtype=np.uint64)
        powers[1:] = np.cumprod(np.full(len(powers) - 1, _BASE, dtype=np.uint64))  # wraps modulo 2**64
        terms = codes * powers[position]  # wraps modulo 2**64, as meant
        filled = lengths > 0
        out[filled] = np.add.reduceat(terms, starts[filled])
    out ^= lengths.astype(np.uint64) * _LENGTH
    out ^= out >> np.uint64(33)
    out *= _C1
    out ^= out >> np.uint64(33)
    out *= _C2
    out ^= out >> np.uint64(33)
    return out


def _utf8(ids) -> tuple[np.ndarray, np.ndarray]:
    """The ids' UTF-8 bytes back to back, and the ``len + 1`` offsets of each id in them."""
    dtype = getattr(ids, "dtype", None)
    if dtype is not None and getattr(dtype, "storage", None) == "pyarrow":  # Arrow strings: their own buffers
        import pyarrow as pa

        arr = pa.array(ids)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if arr.type not in (pa.string(), pa.large_string()):
            arr = arr.cast(pa.large_string())
        if arr.null_count == 0:
            _, offsets_buf, data_buf = arr.buffers()
            width = np.int64 if arr.type == pa.large_string() else np.int32
            offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
            data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
            return data, offsets
    encoded = [str(x).encode("utf-8") for x in np.asarray(ids, dtype=object)]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets
