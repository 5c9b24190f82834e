"""handler/hostinfo.py: /proc/cpuinfo and /etc/os-release text -> the facts the Node advertises."""

from __future__ import annotations

from handler import hostinfo

INTEL = """\
processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz
stepping	: 8
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid pni pclmulqdq vmx ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512cd sha_ni avx512bw avx512vl
bogomips	: 4000.00

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz
flags		: fpu svm
"""

AMD = """\
processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC 7763 64-Core Processor
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni

"""

ARM = """\
processor	: 0
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x3
CPU part	: 0xd0c
"""


def test_intel_vendor_model_and_curated_features():
    """An Intel host: vendor Intel, a label-safe model, libvirt-spelled features from the first block only."""
    cpu = hostinfo.parse_cpuinfo(INTEL)
    assert cpu.vendor == "Intel"
    assert cpu.model == "Intel-Xeon-Platinum-8480"
    assert {"vmx", "sse4.1", "sse4.2", "pclmuldq", "sha-ni", "avx512f", "hypervisor", "aes"} <= cpu.features
    assert "svm" not in cpu.features  # from the second processor's block
    assert not {"fpu", "lahf_lm", "sse4_2"} & cpu.features  # uncurated or kernel-spelled


def test_amd_vendor_model_and_features():
    """An AMD host: vendor AMD, the 'N-Core Processor' suffix dropped, svm and no vmx."""
    cpu = hostinfo.parse_cpuinfo(AMD)
    assert cpu.vendor == "AMD"
    assert cpu.model == "AMD-EPYC-7763"
    assert "svm" in cpu.features and "vmx" not in cpu.features
    assert "sse4a" not in cpu.features


def test_arm_vendor_from_implementer_and_features():
    """An aarch64 host: no vendor_id or model name; the implementer names the vendor."""
    cpu = hostinfo.parse_cpuinfo(ARM)
    assert cpu.vendor == "ARM"
    assert cpu.model == ""
    assert {"asimd", "aes", "sha2", "crc32", "atomics"} <= cpu.features


def test_empty_cpuinfo_gives_nothing():
    """An unreadable /proc/cpuinfo gives no labels rather than an error."""
    assert hostinfo.parse_cpuinfo("") == hostinfo.CPUInfo()


def test_label_safe_names():
    """Label name segments keep only [A-Za-z0-9._-], start and end alphanumeric, and fit 63 chars."""
    assert hostinfo.label_safe("Intel Core i7 (x) ") == "Intel-Core-i7-x"
    assert len(hostinfo.label_safe("a" * 100)) == 63
    assert hostinfo.model_name("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz") == "Intel-Core-i7-8650U"


def test_os_release_pretty_name():
    """nodeInfo.osImage is PRETTY_NAME, unquoted; Linux when absent."""
    assert hostinfo.parse_os_release('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') \
        == "Debian GNU/Linux 12 (bookworm)"
    assert hostinfo.parse_os_release("") == "Linux"


def test_architecture_uses_kubernetes_names():
    """kubernetes.io/arch says amd64/arm64, not the kernel's x86_64/aarch64."""
    assert hostinfo.architecture("x86_64") == "amd64"
    assert hostinfo.architecture("aarch64") == "arm64"
    assert hostinfo.architecture("s390x") == "s390x"


def test_probe_reads_this_host():
    """probe() returns this host's cores, memory and a KVM verdict without raising."""
    host = hostinfo.probe()
    assert host.cpus >= 1 and host.memory_bytes > 0
    assert host.architecture and host.kernel and host.hostname
    assert host.kvm == (host.kvm_problem is None)
