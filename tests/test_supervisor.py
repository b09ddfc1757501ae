"""The supervisor of `motcua run`, with small real child processes."""
import asyncio
import io
import os
import signal
import sys

from motcua.supervisor import ChildSpec, Supervisor

SLEEPER = [sys.executable, "-c", "import time, sys; print('up', flush=True); time.sleep(600)"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive for our purpose.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


async def test_a_dying_child_stops_the_others_and_exits_non_zero():
    out = io.StringIO()
    sup = Supervisor(
        [ChildSpec("long", SLEEPER), ChildSpec("short", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"])],
        out=out,
    )
    code = await asyncio.wait_for(sup.run(), 30)
    assert code == 1
    assert "short exited unexpectedly with code 3" in out.getvalue()
    assert "[short] bye" in out.getvalue()
    assert "[long ] up" in out.getvalue()
    assert not _alive(sup.procs["long"].pid)


async def test_sigterm_stops_every_child_and_exits_zero():
    out = io.StringIO()
    sup = Supervisor([ChildSpec("a", SLEEPER), ChildSpec("b", SLEEPER)], out=out)
    task = asyncio.create_task(sup.run())
    while out.getvalue().count(" up") < 2:
        await asyncio.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 30) == 0
    assert "stopped on signal SIGTERM" in out.getvalue()
    assert not any(_alive(p.pid) for p in sup.procs.values())
