# virtnode: one-command set-up. `make test` and `make demo` each install what
# they need first (Debian packages when run as root, the virtualenv with the
# project and its Cython extensions, the test guest), so both work on a fresh
# machine. Every install step is idempotent.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps

# Debian packages: the test guest build (qemu-utils, busybox-static, mtools,
# syslinux, syslinux-common, dosfstools, xorriso, cpio), booting guests
# (qemu-system-x86), building libvirt-python (libvirt-dev, pkg-config), and
# network namespace tests (iproute2), the launcher's private libvirt daemon
# (libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients) and UEFI
# firmware (ovmf), and kubectl (kubernetes-client, unless a kubectl is already on PATH).
DEB_PACKAGES := qemu-system-x86 qemu-utils busybox-static mtools syslinux syslinux-common \
	dosfstools xorriso cpio libvirt-dev pkg-config iproute2 gcc \
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients ovmf libxml2-utils nftables curl

.PHONY: install deb user venv native guest kubectl test unit lint demo protos clean

install: deb user venv native guest kubectl

deb:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	if [ -z "$$missing" ]; then echo "install: Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "install: missing Debian packages:$$missing; run 'make install' as root or apt-get install them" >&2; exit 1; fi; \
	echo "install: apt-get install$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 $$missing >/dev/null

# The unprivileged system user the launchers' private libvirt daemons (and so
# QEMU) run as (launcher/daemon.py). Needs root; without it the step only checks.
user:
	@if id virtnode >/dev/null 2>&1; then echo "install: user virtnode present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "install: warning: the system user virtnode is missing (launcher tests need it); run 'make install' as root" >&2; exit 0; fi; \
	echo "install: creating system user virtnode"; \
	id virtnode >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin virtnode

venv: deb $(STAMPS)/venv

# The editable install maps the top-level packages that exist when it runs:
# a new package (a new */__init__.py) reinstalls.
$(STAMPS)/venv: pyproject.toml setup.py $(wildcard */__init__.py)
	@test -x $(BIN)/python || { echo "install: creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "install: Python packages into $(VENV)"
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip "setuptools>=77" wheel "Cython>=3.0"
	@$(BIN)/python -m pip install -q --disable-pip-version-check --no-build-isolation -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

native: venv
	@echo "install: building _native extensions"
	@$(BIN)/python setup.py -q build_ext --inplace

guest: venv
	@$(BIN)/python tests/guest/build.py

# Debian's kubectl 1.20 (kubernetes-client), unpacked into .cache/ for the tests.
kubectl: venv
	@$(BIN)/python -m tests.debian_kubectl

# The whole suite. Capability skips are failures here: a missing package must
# not hide a test. pytest's exit code 5 (no tests collected) fails too.
test: install
	VIRTNODE_REQUIRE_NATIVE=1 VIRTNODE_STRICT_CAPABILITIES=1 $(BIN)/python -m pytest
	$(BIN)/lint-imports

# Unit tests only: no root, no QEMU, well under a minute.
unit: venv native
	$(BIN)/python -m pytest tests/unit -q

lint: venv
	$(BIN)/lint-imports

demo: install
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

protos: venv
	$(BIN)/python protos/regenerate.py

clean:
	rm -rf build $(STAMPS) _native/*.so _native/*.c
