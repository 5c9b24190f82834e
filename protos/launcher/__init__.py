"""The handler ↔ launcher contract (protos/launcher/v1)."""
