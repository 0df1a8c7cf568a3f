"""Only the cffi extension lives here (setuptools' pyproject.toml cannot declare cffi_modules):
`pip install -e .` compiles native/src/*.c into native._gnc (native/build_ffi.py)."""

from setuptools import setup

setup(cffi_modules=["native/build_ffi.py:ffibuilder"])
