"""Client file paths stay inside the configured roots."""

from __future__ import annotations

import os

import pytest

from voxweb.services.files import PathNotAllowedError, confine


@pytest.fixture
def roots(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.nrrd").write_bytes(b"x")
    (tmp_path / "outside.nrrd").write_bytes(b"y")
    os.symlink(tmp_path / "outside.nrrd", root / "escape.nrrd")
    return [root]


def test_inside_paths_resolve(roots):
    assert confine(roots[0] / "sub" / "a.nrrd", roots) == (roots[0] / "sub" / "a.nrrd").resolve()
    assert confine("sub/a.nrrd", roots) == (roots[0] / "sub" / "a.nrrd").resolve()
    assert confine(roots[0] / "new.nrrd", roots, must_exist=False).name == "new.nrrd"


@pytest.mark.parametrize(
    "path", ["../outside.nrrd", "sub/../../outside.nrrd", "escape.nrrd", "/etc/passwd"]
)
def test_outside_paths_are_refused(roots, path):
    with pytest.raises(PathNotAllowedError, match="outside the allowed file roots"):
        confine(path, roots)


def test_writing_through_a_symlink_out_is_refused(roots):
    with pytest.raises(PathNotAllowedError):
        confine(roots[0] / "escape.nrrd", roots, must_exist=False)


def test_no_roots_means_no_paths(tmp_path):
    with pytest.raises(PathNotAllowedError, match="--file-root"):
        confine(tmp_path / "x", [])


def test_missing_file_and_nul(roots):
    with pytest.raises(FileNotFoundError):
        confine(roots[0] / "nope.nrrd", roots)
    with pytest.raises(PathNotAllowedError, match="NUL"):
        confine("a\x00b", roots)
    with pytest.raises(FileNotFoundError):
        confine(roots[0] / "nodir" / "x.nrrd", roots, must_exist=False)
