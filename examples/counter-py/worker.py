"""Example worker process in Python: a counter, as `examples/counter-worker` (Rust).

`init` takes the starting value (empty: 0); the message `inc` adds one, `add N` adds N;
a call `get` replies with the value, `ping` with `pong`, `whoami` with the worker's pid;
`crash` crashes it (an error from `handle`), for supervision. Built with componentize-py
against the world `arsenal:process/worker-process` (`-d wit/operation -d wit/process`).
"""

from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, process
from wit_world.imports.types import Event, Event_Call, Event_Message

count = 0


class Worker(exports.Worker):
    def init(self, args: str) -> None:
        global count
        text = args.strip()
        try:
            count = int(text) if text else 0
        except ValueError:
            raise Err(f"the start value `{text}` is not an integer")
        log.log(log.Level.INFO, f"counter starts at {count}")

    def handle(self, events: List[Event]) -> List[Optional[str]]:
        return [self.one(event) for event in events]

    def one(self, event: Event) -> Optional[str]:
        global count
        if not isinstance(event, (Event_Message, Event_Call)):
            return None
        payload = event.value.payload
        if payload == "inc":
            count += 1
        elif payload.startswith("add "):
            count += int(payload[4:])
        elif payload == "get":
            return str(count)
        elif payload == "ping":
            return "pong"
        elif payload == "whoami":
            return process.self_pid()
        elif payload == "crash":
            raise Err("asked to crash")
        return None
