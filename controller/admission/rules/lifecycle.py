"""Rules on a VMI spec's top level: domain, lifecycle strategies, naming, DNS,
probes and architecture.

Owns KubeVirt's checks on the fields beside `domain`: terminationGracePeriodSeconds,
evictionStrategy, startStrategy, hostname and subdomain, dnsPolicy and dnsConfig,
liveness/readiness probes, architecture. Called with a VMI_SPEC target.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import invalid, not_supported, quoted, required
from controller.admission.targets import Target
from protos.errors import FieldCause

EVICTION_STRATEGIES = ("None", "LiveMigrate", "LiveMigrateIfPossible", "External")
START_STRATEGIES = ("Paused",)
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PROBE_HANDLERS = (("exec", "exec"), ("http_get", "httpGet"), ("tcp_socket", "tcpSocket"),
                  ("guest_agent_ping", "guestAgentPing"))


def domain_required(t: Target) -> Iterator[FieldCause]:
    if not t.msg.HasField("domain"):
        yield required(t.at("domain"), "a VMI spec needs a domain with at least its memory "
                                       "(domain.resources.requests.memory)")


def termination_grace_period(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("termination_grace_period_seconds") and spec.termination_grace_period_seconds < 0:
        yield invalid(t.at("terminationGracePeriodSeconds"),
                      f"{spec.termination_grace_period_seconds} is negative; use 0 (stop at once) "
                      f"or more seconds")


def eviction_strategy_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("eviction_strategy") and spec.eviction_strategy not in EVICTION_STRATEGIES:
        yield not_supported(t.at("evictionStrategy"), "evictionStrategy", spec.eviction_strategy,
                            EVICTION_STRATEGIES)


def start_strategy_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("start_strategy") and spec.start_strategy not in START_STRATEGIES:
        yield not_supported(t.at("startStrategy"), "startStrategy", spec.start_strategy,
                            START_STRATEGIES)


def hostname_format(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("hostname"):
        problem = syntax.dns_label(spec.hostname)
        if problem:
            yield invalid(t.at("hostname"), problem)


def subdomain_format(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("subdomain"):
        problem = syntax.dns_label(spec.subdomain)
        if problem:
            yield invalid(t.at("subdomain"), problem)


def dns_policy_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if not spec.HasField("dns_policy"):
        return
    if spec.dns_policy not in DNS_POLICIES:
        yield not_supported(t.at("dnsPolicy"), "dnsPolicy", spec.dns_policy, DNS_POLICIES)
    elif spec.dns_policy == "None" and not spec.dns_config.nameservers:
        yield required(t.at("dnsConfig.nameservers"),
                       "dnsPolicy None needs dnsConfig with at least one nameserver")


def dns_config_limits(t: Target) -> Iterator[FieldCause]:
    cfg = t.msg.dns_config
    if len(cfg.nameservers) > 3:
        yield invalid(t.at("dnsConfig.nameservers"),
                      f"{len(cfg.nameservers)} nameservers given; use at most 3")
    for i, ns in enumerate(cfg.nameservers):
        try:
            ipaddress.ip_address(ns)
        except ValueError:
            yield invalid(t.at(f"dnsConfig.nameservers[{i}]"),
                          f"{quoted(ns)} is not an IP address; use an IPv4 or IPv6 address")
    if len(cfg.searches) > 6 or len(" ".join(cfg.searches)) > 256:
        yield invalid(t.at("dnsConfig.searches"),
                      "too many search domains; use at most 6, 256 characters in all")


def probe_handler_count(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    for field, json in (("liveness_probe", "livenessProbe"), ("readiness_probe", "readinessProbe")):
        if not spec.HasField(field):
            continue
        probe = getattr(spec, field)
        found = [n for f, n in PROBE_HANDLERS if probe.HasField(f)]
        if len(found) != 1:
            what = ", ".join(found) if found else "none"
            yield invalid(t.at(json), f"a probe needs exactly one probe type (found: {what}); set "
                                      f"one of: {', '.join(n for _, n in PROBE_HANDLERS)}")


def architecture_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.architecture and spec.architecture not in t.config.architectures:
        yield not_supported(t.at("architecture"), "architecture", spec.architecture,
                            t.config.architectures)
