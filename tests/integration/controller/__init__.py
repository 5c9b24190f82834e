"""The controller process against a real embedded API process."""
