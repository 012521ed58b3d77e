# cython: language_level=3
"""The counter-based generator in C, callable from Python one draw at a time or over arrays."""

import numpy as np

from libc.stdint cimport uint64_t
from cyext.rng cimport bits as c_bits, uniform as c_uniform


def bits(seed, stream, t, a, b=0):
    """64 random bits for (seed, stream, t, a, b), as a Python int."""
    return c_bits(<uint64_t>(seed & 0xFFFFFFFFFFFFFFFF), stream, t, a, b)


def uniform(seed, stream, t, a, b=0):
    """A uniform double in [0, 1) for (seed, stream, t, a, b)."""
    return c_uniform(<uint64_t>(seed & 0xFFFFFFFFFFFFFFFF), stream, t, a, b)


def uniform_array(seed, stream, t, a, b):
    """Vectorised :func:`uniform`: each argument a scalar or an array; broadcast; returns float64."""
    s, st, tt, aa, bb = np.broadcast_arrays(*(np.asarray(x, dtype=np.uint64) for x in (seed, stream, t, a, b)))
    cdef const uint64_t[::1] vs = np.ascontiguousarray(s).ravel()
    cdef const uint64_t[::1] vst = np.ascontiguousarray(st).ravel()
    cdef const uint64_t[::1] vt = np.ascontiguousarray(tt).ravel()
    cdef const uint64_t[::1] va = np.ascontiguousarray(aa).ravel()
    cdef const uint64_t[::1] vb = np.ascontiguousarray(bb).ravel()
    out = np.empty(vs.shape[0], dtype=np.float64)
    cdef double[::1] vo = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(vs.shape[0]):
            vo[i] = c_uniform(vs[i], vst[i], vt[i], va[i], vb[i])
    return out.reshape(s.shape)
