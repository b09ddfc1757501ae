"""Rasa custom actions (rasa-sdk), one class per action; loaded by `rasa_sdk --actions actions`."""
