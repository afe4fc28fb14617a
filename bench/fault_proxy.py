"""A TCP proxy on loopback that breaks database connections on command, for bench/reliability.py.

    python bench/fault_proxy.py --port P --control-port C --target unix:/path/.s.PGSQL.5432
    python bench/fault_proxy.py --port P --control-port C --target tcp:127.0.0.1:5432

Clients connect to 127.0.0.1:P and are piped to the target (the embedded PostgreSQL listens on a
unix socket only). The control port takes one command per line and answers one JSON line:

    down    drop every live connection (TCP reset) and stop listening: new connections are refused
    up      listen again
    reset   reset every live connection now (the listener stays up)
    stats   counters: connections accepted, reset, refused while down, upstream failures, live

Prints ``ready`` on stdout once both ports listen. Stops on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import struct
import sys
from collections import Counter


class Proxy:
    def __init__(self, port: int, target: str) -> None:
        self.port = port
        kind, _, where = target.partition(":")
        if kind not in ("unix", "tcp"):
            raise SystemExit(f"target must be unix:PATH or tcp:HOST:PORT, not {target!r}")
        self.kind, self.where = kind, where
        self.server: asyncio.base_events.Server | None = None
        self.live: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.stats: Counter[str] = Counter()
        self.down = False

    async def listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port, reuse_address=True)
        self.down = False

    async def stop_listening(self) -> None:
        if self.server is not None:
            self.server.close()  # the listening socket closes now: connect() is refused
            self.server = None
        self.down = True

    async def upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.kind == "unix":
            return await asyncio.open_unix_connection(self.where)
        host, _, port = self.where.rpartition(":")
        return await asyncio.open_connection(host, int(port))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:  # accepted just before the listener closed
            self.stats["refused_while_down"] += 1
            abort(writer)
            return
        try:
            up_reader, up_writer = await self.upstream()
        except OSError:
            self.stats["upstream_failed"] += 1
            abort(writer)
            return
        self.stats["accepted"] += 1
        pair = (writer, up_writer)
        self.live.add(pair)
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.live.discard(pair)
            for w in pair:
                w.close()

    def reset_all(self) -> int:
        pairs = list(self.live)
        for client, server in pairs:
            abort(client)
            abort(server)
            self.live.discard((client, server))
        self.stats["reset"] += len(pairs)
        return len(pairs)

    async def command(self, line: str) -> dict:
        word = line.strip().lower()
        if word == "down":
            await self.stop_listening()
            return {"ok": True, "reset": self.reset_all()}
        if word == "up":
            await self.listen()
            return {"ok": True}
        if word == "reset":
            return {"ok": True, "reset": self.reset_all()}
        if word == "stats":
            return {"ok": True, **self.stats, "live": len(self.live), "down": self.down}
        return {"ok": False, "error": f"unknown command {word!r}"}


def abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0) where the socket is TCP, else just abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()  # one side ended: end the other, so its pipe ends too


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--target", required=True, help="unix:PATH or tcp:HOST:PORT")
    args = parser.parse_args()

    proxy = Proxy(args.port, args.target)
    await proxy.listen()

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write((json.dumps(await proxy.command(line.decode())) + "\n").encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    control_server = await asyncio.start_server(control, "127.0.0.1", args.control_port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    control_server.close()
    await proxy.stop_listening()
    proxy.reset_all()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
