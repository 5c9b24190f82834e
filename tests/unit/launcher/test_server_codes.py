"""Each launcher error reaches the handler as one documented gRPC status code."""

from __future__ import annotations

import grpc
import pytest

from launcher import errors
from launcher.server import STATUS_CODES, status_code_for
from protos.errors import FieldCause


@pytest.mark.parametrize(("error", "code"), [
    (errors.WrongVMIError("a", "b"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ConversionError([FieldCause("spec.domain.devices.disks[0].disk.bus", "ide")]),
     grpc.StatusCode.INVALID_ARGUMENT),
    (errors.InvalidRequestError("bad"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.MissingResourceError("no file"), grpc.StatusCode.NOT_FOUND),
    (errors.DomainNotFoundError("none"), grpc.StatusCode.NOT_FOUND),
    (errors.DomainStateError("shut off"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AgentUnavailableError("no agent"), grpc.StatusCode.UNAVAILABLE),
    (errors.ConnectionLostError("gone"), grpc.StatusCode.UNAVAILABLE),
    (errors.KVMInternalError("kvm"), grpc.StatusCode.INTERNAL),
    (errors.HypervisorError("qemu"), grpc.StatusCode.INTERNAL),
])
def test_error_classes_map_to_the_codes_cmd_proto_documents(error, code) -> None:
    assert status_code_for(error) == code


def test_every_launcher_error_class_has_a_code() -> None:
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.LauncherError)]
    for cls in classes:
        assert any(issubclass(cls, known) for known, _ in STATUS_CODES), cls


def test_wrong_vmi_message_names_both_uids() -> None:
    assert "owns VMI a, not b" in str(errors.WrongVMIError("a", "b"))
