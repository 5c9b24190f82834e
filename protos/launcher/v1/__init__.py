"""Version 1 of the handler ↔ launcher contract: commands, domain status and the event stream."""
