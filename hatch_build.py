"""Build hook: compile logmagic's optional C accelerators (``logmagic/encode/_speedups.c`` for the
loggers, ``logmagic/tools/chainsaw/_speedups.c`` for gelf-chainsaw's byte scans).

Each extension is one small C file with no dependency beyond the Python headers, so it is
compiled directly with the interpreter's own compiler settings (``sysconfig``'s ``LDSHARED``)
rather than through setuptools. When that fails (no compiler, no headers) the build goes on
without it and logmagic runs the same code in Python (``logmagic/encode/_plain.py``,
``logmagic/tools/chainsaw/bytescan.py``); the build output says so. ``LOGMAGIC_NO_SPEEDUPS=1`` skips it on purpose.

An editable install (``pip install -e .``) imports logmagic from the source tree, so there the
extension is built next to its source; a wheel gets it as a file of its own.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = os.path.join("logmagic", "encode", "_speedups.c")
CHAINSAW_SOURCE = os.path.join("logmagic", "tools", "chainsaw", "_speedups.c")
#: Every accelerator: each is built, or not, on its own.
SOURCES = (SOURCE, CHAINSAW_SOURCE)


def _compile(source: str, output: str) -> str | None:
    """Compile ``source`` into the extension module ``output``; the error text, or None."""
    ldshared = sysconfig.get_config_var("LDSHARED") or "cc -shared"
    include = sysconfig.get_paths()["include"]
    command = [*shlex.split(ldshared), "-O2", "-fPIC", "-Wall", "-I", include, source, "-o", output]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{command[0]}: {exc}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        return said.splitlines()[-1] if said else f"exit status {done.returncode}"
    return None


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[misc]  # hatchling is not typed here
    """Add the compiled accelerator to the wheel (or the source tree, for an editable install)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("LOGMAGIC_NO_SPEEDUPS") == "1":
            self.app.display_info("logmagic: C accelerator skipped (LOGMAGIC_NO_SPEEDUPS=1)")
            return
        if version != "editable":
            self._scratch = tempfile.mkdtemp(prefix="logmagic-build-")
        for number, source in enumerate(SOURCES):
            name = os.path.splitext(os.path.basename(source))[0] + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
            relative = os.path.join(os.path.dirname(source), name)
            if version == "editable":
                output = os.path.join(self.root, relative)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(output)  # an older build must not be loaded if this one fails
            else:
                os.mkdir(os.path.join(self._scratch, str(number)))
                output = os.path.join(self._scratch, str(number), name)
            error = _compile(os.path.join(self.root, source), output)
            if error is not None:
                self.app.display_warning(f"logmagic: C accelerator {source} not built, using its Python twin ({error})")
                continue
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            if version != "editable":
                build_data["force_include"][output] = relative
            self.app.display_info(f"logmagic: C accelerator {source} built for Python {sys.version.split()[0]}")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """The wheel holds its copy of the module now: remove the scratch directory."""
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
