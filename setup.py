"""Only the extension list; everything else lives in pyproject.toml."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# -ffp-contract=off: no fused multiply-add, so the C engine compares exactly the doubles Python computed.
# Never -ffast-math or -march=native: they would break identity between the engines.
FLAGS = ["-O3", "-ffp-contract=off"]

# optional=True: without a working C compiler the install still succeeds (with a warning) and the package
# runs on the Mesa engine; the test suite insists that the compiled engine is there.
extensions = [
    Extension("cyext.rng", ["cyext/rng.pyx"], extra_compile_args=FLAGS, optional=True),
    Extension("cyext.engine", ["cyext/engine.pyx"], include_dirs=[numpy.get_include()], extra_compile_args=FLAGS,
              optional=True),
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False},
    )
)
