"""Arrow arrays from Python lists, built from buffers.

`pa.array` imports pandas on its first call (about half a second, before the first event is written)
to check whether it was handed a pandas object. Batches hold only plain values, so they are laid out
here directly; any other value goes to `pa.array` itself, so the result, or the error, is the same.
"""
from __future__ import annotations

import datetime as dt
from array import array as c_array
from itertools import accumulate

import pyarrow as pa

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)
_MAX_OFFSET = 2**31 - 1
_STRING, _INT64, _UTC_MICROS = pa.string(), pa.int64(), pa.timestamp("us", tz="UTC")


class _NotPlain(Exception):
    """A value the direct layout does not cover."""


def array(values: list, type_: pa.DataType) -> pa.Array:
    """The same array as `pa.array(values, type_)` for a string, int64 or UTC microsecond timestamp type."""
    if all(v is None for v in values):
        return pa.nulls(len(values), type_)
    try:
        if type_ == _STRING:
            return _strings(values)
        if type_ == _INT64:
            return _numbers(values, _INT64, int, lambda v: v)
        if type_ == _UTC_MICROS:
            return _numbers(values, _UTC_MICROS, dt.datetime, lambda v: (v - _EPOCH) // _MICROSECOND)
    except (_NotPlain, UnicodeError, OverflowError, TypeError, ValueError):
        pass  # pa.array decides, and raises what it always raised
    return pa.array(values, type_)


def _validity(values: list) -> tuple[pa.Buffer | None, int]:
    nulls = sum(v is None for v in values)
    if not nulls:
        return None, 0
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bits), nulls


def _strings(values: list) -> pa.Array:
    data = []
    for v in values:
        kind = type(v)
        if kind is str:
            data.append(v.encode())
        elif kind is bytes or v is None:
            data.append(v or b"")
        else:
            raise _NotPlain
    blob = b"".join(data)
    if len(blob) > _MAX_OFFSET:
        raise _NotPlain
    offsets = c_array("i", accumulate(map(len, data), initial=0))
    validity, nulls = _validity(values)
    out = pa.Array.from_buffers(_STRING, len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(blob)], nulls)
    out.validate(full=True)  # bytes must be UTF-8, as pa.array checks
    return out


def _numbers(values: list, type_: pa.DataType, kind: type, convert) -> pa.Array:
    """int64 values; for timestamps, aware datetimes (naive ones fail the subtraction)."""
    if any(v is not None and type(v) is not kind for v in values):
        raise _NotPlain  # bool, subclasses, other types: pa.array's own rules
    validity, nulls = _validity(values)
    data = c_array("q", [0 if v is None else convert(v) for v in values])
    return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(data)], nulls)
