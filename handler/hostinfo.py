"""What this host is: CPU vendor, model and features, cores, memory, devices, OS.

Owns the reading of the host facts the Node advertises (handler/node.py turns
them into capacity, labels and nodeInfo). The parsers are pure functions of
text (`parse_cpuinfo`, `parse_os_release`) so tests feed them sample files;
`probe()` is the one place that reads /proc, /etc, /dev and psutil. Never
writes anything and never talks to the API.

CPU labels follow KubeVirt's node labeller (reference §3.7) as far as
/proc/cpuinfo allows without libvirt: the vendor is libvirt's vendor name
(Intel, AMD, ...), features use libvirt's spelling (`sse4.2`, not `sse4_2`)
and are limited to a curated set that guests and selectors care about, and
the model is the kernel's model name made label-safe (libvirt's named models
such as `Skylake-Client-IBRS` need `virsh domcapabilities`, which the handler
does not run).
"""

from __future__ import annotations

import os
import platform
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from launcher import accel

DEV_TUN = "/dev/net/tun"
DEV_VHOST_NET = "/dev/vhost-net"

# /proc/cpuinfo vendor_id -> libvirt's vendor name (what KubeVirt's cpu-vendor label carries).
VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon",
           "CentaurHauls": "VIA", "Shanghai": "Zhaoxin"}
# aarch64 "CPU implementer" -> vendor.
ARM_IMPLEMENTERS = {"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu",
                    "0x48": "HiSilicon", "0x4e": "NVIDIA", "0x50": "APM", "0x51": "Qualcomm",
                    "0x61": "Apple", "0xc0": "Ampere"}

# The kernel's flag name -> libvirt's feature name, for the features worth a label.
FEATURES = {
    "aes": "aes", "avx": "avx", "avx2": "avx2", "avx512f": "avx512f", "avx512bw": "avx512bw",
    "avx512cd": "avx512cd", "avx512dq": "avx512dq", "avx512vl": "avx512vl", "adx": "adx",
    "bmi1": "bmi1", "bmi2": "bmi2", "erms": "erms", "f16c": "f16c", "fma": "fma",
    "fsgsbase": "fsgsbase", "hypervisor": "hypervisor", "invpcid": "invpcid", "movbe": "movbe",
    "pcid": "pcid", "pclmulqdq": "pclmuldq", "pdpe1gb": "pdpe1gb", "popcnt": "popcnt",
    "rdrand": "rdrand", "rdseed": "rdseed", "rdtscp": "rdtscp", "sha_ni": "sha-ni", "smap": "smap",
    "smep": "smep", "sse4_1": "sse4.1", "sse4_2": "sse4.2", "ssse3": "ssse3", "svm": "svm",
    "tsc_adjust": "tsc_adjust", "vmx": "vmx", "x2apic": "x2apic", "xsave": "xsave",
    # aarch64 "Features"
    "asimd": "asimd", "sve": "sve", "sha2": "sha2", "crc32": "crc32", "atomics": "atomics",
}

# platform.machine() -> Kubernetes' GOARCH spelling (kubernetes.io/arch, nodeInfo.architecture).
ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
                 "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64"}

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CPUInfo:
    """The CPU as labels see it; empty strings when the text does not say."""

    vendor: str = ""
    model: str = ""
    features: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class HostInfo:
    hostname: str
    cpus: int
    memory_bytes: int
    cpu: CPUInfo
    kvm_problem: str | None  # None when /dev/kvm works, else why not (launcher.accel.probe)
    has_tun: bool
    has_vhost_net: bool
    architecture: str        # amd64, arm64, ...
    kernel: str
    os_image: str
    machine_id: str = ""
    boot_id: str = ""

    @property
    def kvm(self) -> bool:
        return self.kvm_problem is None


def label_safe(text: str) -> str:
    """`text` as a label name segment: [A-Za-z0-9._-], alphanumeric at both ends, at most 63 chars."""
    return _LABEL_UNSAFE.sub("-", text).strip("-._")[:63].rstrip("-._")


def model_name(raw: str) -> str:
    """The kernel's model name without trademarks, 'CPU', the clock and repeated spaces.

    "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz" -> "Intel-Xeon-Platinum-8480"
    """
    text = re.sub(r"\((R|TM|tm|r)\)", " ", raw)
    text = re.sub(r"@.*$", " ", text)
    text = re.sub(r"\bCPU\b|\b\d+-Core Processor\b|\bProcessor\b", " ", text)
    return label_safe("-".join(text.split()))


def parse_cpuinfo(text: str) -> CPUInfo:
    """Vendor, model and curated features of the first processor in /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    vendor = VENDORS.get(fields.get("vendor_id", ""), fields.get("vendor_id", ""))
    if not vendor and "CPU implementer" in fields:
        vendor = ARM_IMPLEMENTERS.get(fields["CPU implementer"].lower(), "")
    flags = (fields.get("flags") or fields.get("Features") or "").split()
    features = frozenset(FEATURES[f] for f in flags if f in FEATURES)
    return CPUInfo(label_safe(vendor), model_name(fields.get("model name", "")), features)


def parse_os_release(text: str) -> str:
    """PRETTY_NAME of /etc/os-release text (kubelet's nodeInfo.osImage), or "Linux"."""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "PRETTY_NAME":
            return value.strip().strip("\"'") or "Linux"
    return "Linux"


def architecture(machine: str) -> str:
    return ARCHITECTURES.get(machine, machine)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def probe(dev_kvm: str = accel.DEV_KVM) -> HostInfo:
    """This host's facts, read now."""
    import psutil

    return HostInfo(
        hostname=socket.gethostname(),
        cpus=cpu_count(),
        memory_bytes=psutil.virtual_memory().total,
        cpu=parse_cpuinfo(_read("/proc/cpuinfo")),
        kvm_problem=accel.probe(dev_kvm),
        has_tun=os.path.exists(DEV_TUN),
        has_vhost_net=os.path.exists(DEV_VHOST_NET),
        architecture=architecture(platform.machine()),
        kernel=platform.release(),
        os_image=parse_os_release(_read("/etc/os-release")),
        machine_id=_read("/etc/machine-id").strip(),
        boot_id=_read("/proc/sys/kernel/random/boot_id").strip(),
    )
