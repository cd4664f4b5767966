"""Builds the native module _ssekit with the repository's CMake build, for pip and setuptools.

The C++ library and the module are compiled from this checkout (two directories up); nothing is
downloaded. Run as ``pip install --no-build-isolation ./bindings/python``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PACKAGE_ROOT = Path(__file__).resolve().parent
REPOSITORY = PACKAGE_ROOT.parent.parent


class CMakeExtension(Extension):
    """An extension whose sources CMake knows; setuptools only places the result."""

    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    """Configures the repository with only the Python module on, builds it, copies it in."""

    def build_extension(self, ext: Extension) -> None:
        if not (REPOSITORY / "sdk" / "CMakeLists.txt").is_file():
            raise RuntimeError(
                f"ssekit: the C++ sources are not at {REPOSITORY}; install from a checkout of "
                "the repository (pip install ./bindings/python), not from a copy of this folder")
        if shutil.which("cmake") is None:
            raise RuntimeError("ssekit: cmake not found (Debian package cmake)")

        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_type = "Debug" if self.debug else "Release"
        subprocess.run(
            ["cmake", "-S", str(REPOSITORY), "-B", str(build_dir),
             f"-DCMAKE_BUILD_TYPE={build_type}",
             "-DSSEKIT_BUILD_TESTS=OFF", "-DSSEKIT_BUILD_SAMPLES=OFF",
             "-DSSEKIT_BUILD_BENCHMARKS=OFF", "-DSSEKIT_BUILD_PYTHON=ON",
             f"-DPython3_EXECUTABLE={sys.executable}", f"-DPYTHON_EXECUTABLE={sys.executable}"],
            check=True)
        # Two jobs unless told otherwise: the machines this targets are small and shared.
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_ssekit", "-j", jobs],
                       check=True)

        built = sorted((build_dir / "bindings" / "python" / "ssekit").glob("_ssekit*.so"))
        if not built:
            raise RuntimeError("ssekit: CMake skipped the Python module; its configure output "
                               "above says which development files are missing")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], target)


setup(ext_modules=[CMakeExtension("ssekit._ssekit")], cmdclass={"build_ext": CMakeBuild})
