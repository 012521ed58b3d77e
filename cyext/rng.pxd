# The counter-based generator of docs/ODD.md in C, inlined into any Cython module that cimports it.
#
# bits(seed, stream, t, a, b) = mix(mix(mix(mix(mix(seed) ^ stream) ^ t) ^ a) ^ b). The first three rounds
# depend only on (seed, stream, t), so a hot loop over many a can compute prefix() once and finish each draw
# with uniform_at(): the same bits, two rounds per draw instead of five.
from libc.stdint cimport uint64_t

cdef inline uint64_t mix(uint64_t z) noexcept nogil:
    z = z + <uint64_t>0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)

cdef inline uint64_t prefix(uint64_t mixed_seed, uint64_t stream, uint64_t t) noexcept nogil:
    # mixed_seed is mix(seed)
    return mix(mix(mixed_seed ^ stream) ^ t)

cdef inline double uniform_at(uint64_t pre, uint64_t a, uint64_t b) noexcept nogil:
    # (bits >> 11) has 53 bits, so the conversion and the power-of-two scaling are exact.
    return <double>(mix(mix(pre ^ a) ^ b) >> 11) * 1.1102230246251565e-16

cdef inline uint64_t top53_at(uint64_t pre, uint64_t a, uint64_t b) noexcept nogil:
    # The 53 bits behind uniform_at: uniform_at(...) < p exactly when top53_at(...) < ceil(p * 2**53).
    return mix(mix(pre ^ a) ^ b) >> 11

cdef inline uint64_t bits(uint64_t seed, uint64_t stream, uint64_t t, uint64_t a, uint64_t b) noexcept nogil:
    return mix(mix(prefix(mix(seed), stream, t) ^ a) ^ b)

cdef inline double uniform(uint64_t seed, uint64_t stream, uint64_t t, uint64_t a, uint64_t b) noexcept nogil:
    return uniform_at(prefix(mix(seed), stream, t), a, b)
