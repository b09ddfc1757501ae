"""Rasa's test stories (tests/stories/) against the session's model, with the real action server."""
import os
import subprocess
import sys

from motcua import PROJECT_ROOT


def test_conversation_stories_pass(trained_model, rasa_servers, tmp_path):
    env = {**os.environ, "ACTION_ENDPOINT_URL": f"{rasa_servers['action_url']}/webhook",
           "DATABASE_URL": rasa_servers["database_url"], "CASE_DATABASE_URL": rasa_servers["case_database_url"]}
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(trained_model),
         "--stories", str(PROJECT_ROOT / "tests" / "stories"), "--endpoints", "endpoints.yml",
         "--out", str(tmp_path), "--no-plot"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "story:" not in failed, failed
