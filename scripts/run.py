"""`make run`: daphne, the task worker and the scheduler together in the foreground; Ctrl-C
stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PORT = os.environ.get("PORT", "8000")
# Loopback by default: this is the development server. HOST=0.0.0.0 opens it to the network.
HOST = os.environ.get("HOST", "127.0.0.1")
# Server pings keep idle sockets alive through proxies (the Procfile uses the same).
PINGS = ["--ping-interval", "20", "--ping-timeout", "30"]
PY = sys.executable


def main() -> int:
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    # Emails a previous run left queued or half-sent are picked up again (docs/email.md).
    subprocess.run(
        [PY, "manage.py", "resend_failed_emails", "--stale", "--no-failed"], env=env, check=False
    )
    procs = [
        subprocess.Popen(
            [PY, "-m", "daphne", "-b", HOST, "-p", PORT, *PINGS, "config.asgi:application"], env=env
        ),
        subprocess.Popen([PY, "manage.py", "db_worker"], env=env),
        subprocess.Popen([PY, "manage.py", "run_scheduler"], env=env),
    ]
    print(
        f"Serving on http://localhost:{PORT}/demo/ (Ctrl-C stops the server, the worker and the scheduler)",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    sys.exit(main())
