"""The launcher's gRPC server: Cmd and Notify on the launcher's unix socket.

Owns the boundary between gRPC and the launcher: it checks the VMI uid of
every request, calls launcher/manager.py, and turns each launcher error into
one gRPC status code, in the one table below, with the error's sentence as the
message. Nothing else in the launcher knows about gRPC status codes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc

from launcher import errors
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc, notify_pb2_grpc

log = logging.getLogger(__name__)

CONTRACT_VERSIONS = (1,)
LAUNCHER_VERSION = "0.1.0"

# Most specific first: the first class that matches decides the code.
STATUS_CODES: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (errors.WrongVMIError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.MissingResourceError, grpc.StatusCode.NOT_FOUND),
    (errors.DomainNotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.DomainStateError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AgentUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (errors.DaemonError, grpc.StatusCode.UNAVAILABLE),
    (errors.HypervisorError, grpc.StatusCode.INTERNAL),
    (errors.LauncherError, grpc.StatusCode.INTERNAL),
)


def status_code_for(error: Exception) -> grpc.StatusCode:
    for cls, code in STATUS_CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.UNKNOWN


class _Service:
    def __init__(self, launcher) -> None:
        self.launcher = launcher
        self.manager = launcher.manager

    def _call(self, request, context: grpc.ServicerContext, fn: Callable[[], object]):
        try:
            if request.vmi_uid != self.manager.vmi_uid:
                raise errors.WrongVMIError(self.manager.vmi_uid, request.vmi_uid or "<empty>")
            if self.launcher.exiting.is_set() and not isinstance(request, cmd_pb2.TerminateRequest):
                raise errors.DaemonError("The launcher is exiting; the request was not applied")
            return fn()
        except errors.LauncherError as e:
            code = status_code_for(e)
            log.info("request %s refused: %s (%s)", type(request).__name__, e, code.name)
            context.abort(code, str(e))
        except Exception as e:  # a bug: say so, keep serving
            log.exception("request %s failed unexpectedly", type(request).__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"Unexpected launcher failure: {e}")


class CmdService(_Service, cmd_pb2_grpc.CmdServicer):
    def Handshake(self, request, context):
        def run():
            common = sorted(set(CONTRACT_VERSIONS) & set(request.supported_versions))
            if not common:
                raise errors.InvalidRequestError(
                    f"No common contract version: the launcher speaks "
                    f"{', '.join(map(str, CONTRACT_VERSIONS))}, the caller "
                    f"{', '.join(map(str, request.supported_versions)) or 'none'}")
            return cmd_pb2.HandshakeResponse(
                version=common[-1], vmi_uid=self.manager.vmi_uid, launcher_version=LAUNCHER_VERSION,
                libvirt_version=self.launcher.versions.get("libvirt", ""),
                qemu_version=self.launcher.versions.get("qemu", ""),
                accelerator=self.manager.accelerator, pid=os.getpid())
        return self._call(request, context, run)

    def Sync(self, request, context):
        def run():
            if not request.HasField("vmi"):
                raise errors.InvalidRequestError("vmi: required; Sync needs the VirtualMachineInstance")
            if request.vmi.metadata.uid and request.vmi.metadata.uid != request.vmi_uid:
                raise errors.InvalidRequestError(
                    f"vmi.metadata.uid: {request.vmi.metadata.uid} differs from vmi_uid {request.vmi_uid}")
            return self.manager.sync(request.vmi, request.options)
        return self._call(request, context, run)

    def Shutdown(self, request, context):
        def run():
            grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
            status, forced = self.manager.shutdown(grace, request.wait)
            return cmd_pb2.ShutdownResponse(status=status, forced=forced)
        return self._call(request, context, run)

    def Kill(self, request, context):
        return self._call(request, context, lambda: cmd_pb2.KillResponse(status=self.manager.kill()))

    def Pause(self, request, context):
        return self._call(request, context, lambda: cmd_pb2.PauseResponse(status=self.manager.pause()))

    def Unpause(self, request, context):
        return self._call(request, context,
                          lambda: cmd_pb2.UnpauseResponse(status=self.manager.unpause()))

    def Reset(self, request, context):
        return self._call(request, context, lambda: cmd_pb2.ResetResponse(status=self.manager.reset()))

    def SoftReboot(self, request, context):
        def run():
            status, method = self.manager.soft_reboot()
            return cmd_pb2.SoftRebootResponse(status=status, method=method)
        return self._call(request, context, run)

    def GetDomain(self, request, context):
        return self._call(request, context, lambda: cmd_pb2.GetDomainResponse(
            status=self.manager.status(), domain_xml=self.manager.domain_xml()))

    def GetStats(self, request, context):
        return self._call(request, context, self.manager.stats)

    def GuestInfo(self, request, context):
        return self._call(request, context, self.manager.guest_info)

    def ReadBootLog(self, request, context):
        def run():
            limit = request.limit or 64 * 1024
            data, start, next_offset = self.launcher.read_boot_log(request.offset, limit)
            return cmd_pb2.ReadBootLogResponse(data=data, offset=start, next_offset=next_offset)
        return self._call(request, context, run)

    def Terminate(self, request, context):
        def run():
            grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
            status, forced = self.launcher.terminate(grace)
            return cmd_pb2.TerminateResponse(status=status, forced=forced)
        return self._call(request, context, run)

    def Ping(self, request, context):
        return self._call(request, context, lambda: cmd_pb2.PingResponse(vmi_uid=self.manager.vmi_uid))


class NotifyService(_Service, notify_pb2_grpc.NotifyServicer):
    def Watch(self, request, context):
        if request.vmi_uid != self.manager.vmi_uid:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          str(errors.WrongVMIError(self.manager.vmi_uid, request.vmi_uid or "<empty>")))
        sub = self.manager.hub.subscribe()
        try:
            yield from sub.events(stop=lambda: not context.is_active())
        finally:
            sub.close()


def serve(launcher, socket_path: Path, max_workers: int = 8) -> grpc.Server:
    """Starts both services on a unix socket that only root may use (mode 0600)."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists() or socket_path.is_symlink():
        socket_path.unlink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers,
                                                    thread_name_prefix="cmd"))
    cmd_pb2_grpc.add_CmdServicer_to_server(CmdService(launcher), server)
    notify_pb2_grpc.add_NotifyServicer_to_server(NotifyService(launcher), server)
    old = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{socket_path}")
        server.start()
    finally:
        os.umask(old)
    return server
