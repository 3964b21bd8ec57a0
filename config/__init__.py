"""Settings: every knob of every process, from HYPERORU_* variables (config/settings.py)."""
