"""The virtnode test guest: a Debian kernel, busybox and qemu-guest-agent.

`build.build()` assembles it (cached under `<repo>/.cache/guest/`);
`nocloud.make_seed()` writes a NoCloud seed ISO for it. See docs/guest.md.
"""
