"""What `make run` does when a part of the stack exits on its own, as Kubernetes would: a
service that crashed (a native fault in OpenFHE, an out-of-memory kill) is started again on
its port, so the stack keeps serving; the requests it had in flight fail (the gateway answers
502 UPSTREAM_UNAVAILABLE) and the next ones reach the new process. A service that keeps
crashing (more than MAX_RESTARTS within WINDOW_SECONDS), Redis or the gateway exiting stops
the whole stack, loudly. See docs/decisions/0027-make-run-restarts-crashed-services.md."""

from __future__ import annotations

import sys
import time
from collections import deque

from wavis.devstack.stack import Stack, StackError

MAX_RESTARTS = 5
WINDOW_SECONDS = 60.0


class Supervisor:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._restarts: dict[str, deque[float]] = {}

    def check(self) -> list[str]:
        """Restart crashed services; the names of parts that ended the stack (empty while it
        runs)."""
        crashed = {child.name: key for key, child in self.stack.services.items()
                   if not child.alive()}
        fatal = [name for name in self.stack.exited() if name not in crashed]
        if fatal:
            return fatal
        for name, key in crashed.items():
            recent = self._restarts.setdefault(key, deque())
            now = time.monotonic()
            while recent and now - recent[0] > WINDOW_SECONDS:
                recent.popleft()
            code = self.stack.services[key].process.returncode
            if len(recent) >= MAX_RESTARTS:
                print(f"wavis run: {name} exited ({code}) {len(recent) + 1} times within "
                      f"{WINDOW_SECONDS:.0f} s", file=sys.stderr, flush=True)
                return [name]
            recent.append(now)
            print(f"wavis run: {name} exited ({code}); starting it again", file=sys.stderr,
                  flush=True)
            try:
                self.stack.restart_service(key)
            except StackError as exc:
                print(f"wavis run: {name} did not come back: {exc}", file=sys.stderr)
                return [name]
        return []
