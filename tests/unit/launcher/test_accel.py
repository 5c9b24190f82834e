"""launcher.accel picks KVM only when /dev/kvm really works, TCG otherwise.

The probe runs against fake paths (missing, a regular file, a character device
that is not KVM), so these tests need neither root nor KVM.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from launcher import accel
from launcher.errors import InvalidRequestError, MissingResourceError


@pytest.fixture
def regular_file(tmp_path: Path) -> str:
    path = tmp_path / "kvm"
    path.write_bytes(b"")
    return str(path)


def test_emulation_is_tcg_without_probing(tmp_path: Path) -> None:
    """Mode emulation never looks at /dev/kvm."""
    assert accel.choose("emulation", dev_kvm=str(tmp_path / "missing")) == "tcg"


def test_auto_falls_back_to_tcg_when_dev_kvm_is_missing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Mode auto without /dev/kvm chooses TCG and logs why."""
    missing = str(tmp_path / "missing")
    with caplog.at_level(logging.WARNING, logger="launcher.accel"):
        assert accel.choose("auto", dev_kvm=missing) == "tcg"
    assert f"cannot open {missing} read-write" in caplog.text
    assert "TCG" in caplog.text


def test_auto_falls_back_to_tcg_when_the_ioctl_fails(regular_file: str) -> None:
    """A file that opens but is not KVM (the version ioctl fails) means TCG."""
    assert accel.probe(regular_file) is not None
    assert "KVM_GET_API_VERSION" in accel.probe(regular_file)
    assert accel.choose("auto", dev_kvm=regular_file) == "tcg"


def test_a_character_device_that_is_not_kvm_is_refused() -> None:
    """/dev/null opens read-write but does not speak KVM."""
    assert "KVM_GET_API_VERSION" in accel.probe(os.devnull)


def test_kvm_mode_without_kvm_raises_a_clear_error(tmp_path: Path) -> None:
    """Mode kvm on a host without working KVM fails and names the way out."""
    with pytest.raises(MissingResourceError, match="KVM does not work on this host.*emulation"):
        accel.choose("kvm", dev_kvm=str(tmp_path / "missing"))


def test_unknown_mode_is_refused() -> None:
    """Only auto, kvm and emulation are modes."""
    with pytest.raises(InvalidRequestError, match="Unknown accelerator mode 'fast'"):
        accel.choose("fast")


def test_unreadable_dev_kvm_is_reported(regular_file: str) -> None:
    """Without read-write access the reason is the permission error (checked as an
    unprivileged user: root opens files whatever their mode)."""
    os.chmod(regular_file, 0o400)
    if os.geteuid() != 0:
        assert "Permission denied" in accel.probe(regular_file)
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to nobody and reports what the probe says
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, (accel.probe(regular_file) or "").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reason = pipe.read().decode()
    os.waitpid(pid, 0)
    assert "Permission denied" in reason


@pytest.mark.skipif(not os.access(accel.DEV_KVM, os.R_OK | os.W_OK), reason="no accessible /dev/kvm here")
def test_a_real_dev_kvm_passes_the_probe() -> None:
    """Where /dev/kvm is accessible, the API version and VM creation succeed
    (which does not promise that guests run: nested KVM may still fail)."""
    assert accel.probe() is None
    assert accel.choose("auto") == "kvm"
    assert accel.choose("kvm") == "kvm"
