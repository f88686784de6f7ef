"""Build script: compiles the Cython kernels in zako/_core.

``ZAKO_PURE=1`` at build time skips compilation (a pure-Python install).
Otherwise every ``zako/_core/*.pyx`` is compiled and a compile error fails the
build: a wheel must never ship without its kernels by accident.
"""

import glob
import os

from setuptools import setup

_TRUE = {"1", "true", "yes", "on"}


def _extensions():
    if os.environ.get("ZAKO_PURE", "").strip().lower() in _TRUE:
        return []
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension

    sources = sorted(glob.glob(os.path.join("zako", "_core", "*.pyx")))
    exts = [
        Extension(
            "zako._core." + os.path.splitext(os.path.basename(src))[0],
            [src],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=["-O3"],
        )
        for src in sources
    ]
    return cythonize(
        exts,
        compiler_directives={"language_level": "3", "embedsignature": True},
        annotate=os.environ.get("ZAKO_ANNOTATE", "") in _TRUE,
    )


setup(ext_modules=_extensions())
