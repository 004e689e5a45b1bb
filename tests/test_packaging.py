"""What a user gets from the distribution: the license text in the sdist and the wheel, and the
project's links in the metadata. The sdist and the wheel are built for real (``python -m build``;
the wheel is built from the sdist, so a file missing from the sdist fails here too)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
REPOSITORY = "https://github.com/logmagic/logmagic"


def test_sdist_and_wheel_carry_the_license_and_the_project_links(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (sdist,) = tmp_path.glob("*.tar.gz")
    (wheel,) = tmp_path.glob("*.whl")
    license_text = (ROOT / "LICENSE").read_bytes()
    assert license_text.startswith(b"MIT License\n")

    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        member = tar.extractfile(f"{top}/LICENSE")
        assert member is not None and member.read() == license_text

    with zipfile.ZipFile(wheel) as whl:
        (dist_info,) = {name.split("/")[0] for name in whl.namelist() if ".dist-info/" in name}
        assert whl.read(f"{dist_info}/licenses/LICENSE") == license_text
        metadata = whl.read(f"{dist_info}/METADATA").decode()

    lines = metadata.split("\n\n", 1)[0].splitlines()  # the headers, not the README after them
    assert "License-Expression: MIT" in lines and "License-File: LICENSE" in lines
    urls = dict(line.removeprefix("Project-URL: ").split(", ", 1) for line in lines if line.startswith("Project-URL: "))
    assert sorted(urls) == ["Changelog", "Documentation", "Homepage", "Issues", "Source"]
    assert all(url.startswith(REPOSITORY) for url in urls.values()), urls
