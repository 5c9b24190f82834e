"""The node benchmark's baseline: a launcher's domain XML made into a bare guest's, boot markers read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bench.bare_libvirt import Start, bare_xml

LAUNCHER_DIR = "/run/virtnode/308042/9e1a0db0"
LIVE_XML = f"""<domain type='qemu' id='1'>
  <name>default_tiny</name>
  <uuid>a9d323cc-d834-5e05-8404-7e9b7a736b70</uuid>
  <sysinfo type='smbios'><system>
    <entry name='uuid'>a9d323cc-d834-5e05-8404-7e9b7a736b70</entry>
  </system></sysinfo>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><kernel>/images/boot/vmlinuz</kernel></os>
  <devices>
    <serial type='unix'>
      <source mode='bind' path='{LAUNCHER_DIR}/guest/serial.sock'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
    </serial>
    <console type='unix'>
      <source mode='bind' path='{LAUNCHER_DIR}/guest/serial.sock'/>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='{LAUNCHER_DIR}/guest/agent.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>"""


def test_bare_xml_moves_the_domain_and_writes_its_serial_to_a_file() -> None:
    """The bare guest gets its own name, uuid and directory; its console goes to a file."""
    serial = Path("/tmp/b/bare1-0/guest/serial.log")
    root = ET.fromstring(bare_xml(LIVE_XML, LAUNCHER_DIR, Path("/tmp/b/bare1-0"), "bare1-0", serial))
    text = ET.tostring(root, encoding="unicode")
    assert LAUNCHER_DIR not in text
    assert "id" not in root.attrib
    assert root.findtext("name") == "bare1-0"
    uuid = root.findtext("uuid")
    assert uuid != "a9d323cc-d834-5e05-8404-7e9b7a736b70"
    assert root.find("sysinfo/system/entry[@name='uuid']").text == uuid
    for tag in ("serial", "console"):
        device = root.find(f"devices/{tag}")
        assert device.get("type") == "file"
        assert device.find("source").attrib == {"path": str(serial)}
        assert device.find("target") is not None
    assert root.find("devices/channel/source").get("path") == "/tmp/b/bare1-0/guest/agent.sock"
    assert root.findtext("os/kernel") == "/images/boot/vmlinuz"


def test_scan_stamps_the_marker_once_with_the_guest_uptime() -> None:
    """The first console showing the marker sets its time and the uptime the guest printed."""
    vm = Start("v1-0")
    assert not vm.scan(b"Linux version 6.1\r\n", 1.0)
    assert vm.scan(b"Linux version 6.1\r\nVIRTNODE-GUEST-READY uptime=3.64\r\n", 2.0)
    assert vm.scan(b"Linux version 6.1\r\nVIRTNODE-GUEST-READY uptime=3.64\r\nmore", 3.0)
    assert (vm.marker_s, vm.uptime_s) == (2.0, 3.64)


def test_scan_with_a_pod_network_waits_for_the_lease() -> None:
    """With a pod network a VM counts as booted once it also printed its DHCP lease."""
    vm = Start("p1-0")
    assert not vm.scan(b"VIRTNODE-GUEST-READY uptime=4.0\n", 1.0, lease=True)
    assert vm.scan(b"VIRTNODE-GUEST-READY uptime=4.0\nVIRTNODE-GUEST-IP 10.244.0.2\n", 1.5, lease=True)
    assert (vm.marker_s, vm.lease_s) == (1.0, 1.5)
