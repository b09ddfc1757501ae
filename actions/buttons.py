"""Buttons several actions offer (one definition each)."""

# Starts the feedback form (phản ánh, kiến nghị).
COMPLAINT_BUTTON = {"title": "Gửi phản ánh, kiến nghị", "payload": "/submit_complaint"}
