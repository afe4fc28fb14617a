"""CPU work off the event loop, bounded, so no one request stalls another (the web app and the
in-process worker share one loop on a 2-core machine).

- ``in_thread``: short CPU work that releases the GIL or is small (password hashing, parsing a
  text or Word file), at most ``SLOTS`` at once; the rest wait their turn, not the loop.
- ``in_process``: work that a crafted input can make slow and that cannot be interrupted in a
  thread (PDF text extraction): its own process, killed at the deadline.
- ``cpu`` / ``in_pool``: the drafting models' pure-Python work on large inputs, in a process
  pool (threads would still share the GIL with the loop).

Each kind has its own bound, so ten slow PDFs never hold up a sign-in."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SLOTS = 2
_slots: dict[tuple[int, str], asyncio.Semaphore] = {}  # per event loop (tests run several) and kind


class TooSlow(Exception):
    """The work did not finish before its deadline and was stopped."""


def _semaphore(kind: str) -> asyncio.Semaphore:
    key = (id(asyncio.get_running_loop()), kind)
    if key not in _slots:
        _slots[key] = asyncio.Semaphore(SLOTS)
    return _slots[key]


_threads = None


def _lower_thread_priority() -> None:
    """Linux gives each thread its own nice value: work in these threads (argon2, parsing)
    yields the CPU to the event loop's thread, so twenty sign-ins at once do not stall a page."""
    import os
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: plain threads
        pass


def _thread_pool():
    global _threads
    if _threads is None:
        from concurrent.futures import ThreadPoolExecutor

        _threads = ThreadPoolExecutor(max_workers=SLOTS * 2, thread_name_prefix="beacon-cpu",
                                      initializer=_lower_thread_priority)
    return _threads


async def in_thread(fn: Callable[..., T], *args, **kwargs) -> T:
    from functools import partial

    async with _semaphore("thread"):
        return await asyncio.get_running_loop().run_in_executor(_thread_pool(), partial(fn, *args, **kwargs))


def _child(conn, fn, args) -> None:
    import os

    os.nice(10)  # a page waits on the web process, not on this
    try:
        conn.send((True, fn(*args)))
    except BaseException as exc:  # sent back and raised in the parent
        conn.send((False, exc))
    finally:
        conn.close()


# Forked from a clean server process that has the readers imported: no inherited event loop,
# threads or sockets (as with spawn), but started in milliseconds, not a fresh interpreter's
# few hundred (which, per PDF, would take a core from everyone else).
_preload: list[str] = []
_forkserver = None


def preload(*modules: str) -> None:
    """Modules ``in_process`` children should start with (the work's own, its libraries):
    declared at import time by the module whose work it is."""
    _preload.extend(m for m in modules if m not in _preload)


def _fresh_processes():
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(list(_preload))
    return _forkserver


async def in_process(fn: Callable[..., T], *args, timeout_s: float) -> T:
    """``fn(*args)`` in a fresh process (``fn`` and its result must pickle); ``TooSlow`` if it
    runs past ``timeout_s`` (the process is killed)."""
    async with _semaphore("process"):
        ctx = _fresh_processes()
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
        await asyncio.to_thread(process.start)  # asks the fork server and waits for its answer
        child.close()
        try:
            ready = await asyncio.to_thread(parent.poll, timeout_s)
            if not ready:
                raise TooSlow(f"stopped after {timeout_s:.0f} s")
            ok, value = await asyncio.to_thread(parent.recv)
        except EOFError:
            raise TooSlow("the worker process died") from None
        finally:
            if process.is_alive():
                process.kill()
            await asyncio.to_thread(process.join, 5)
            parent.close()
    if not ok:
        raise value
    return value


# --- A process pool for the drafting models' CPU work ------------------------------------------
# Threads keep the event loop turning but share one GIL: pure-Python work (the offline model,
# redaction, verification, the offline designer) on a 200,000-character work would still slow
# every request. In worker processes it runs beside the loop, truly in parallel.
_pool = None


def _child_init() -> None:
    """In each pool child: yield the CPU to the web process (drafting can wait a moment, a page
    should not), and leave when the parent is gone (killed with -9, it cannot say so), so no
    orphan outlives the worker or server it served."""
    import os
    import threading
    import time

    os.nice(10)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _process_pool():
    global _pool
    if _pool is None:
        from concurrent.futures import ProcessPoolExecutor

        _pool = ProcessPoolExecutor(max_workers=SLOTS, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_child_init)
    return _pool


def _ready() -> bool:
    return True


async def warm() -> None:
    """Start the pool's children and the PDF fork server now, at start-up: a fresh interpreter
    importing Beacon costs a core for a second, which the first large hand-in would otherwise
    take from every request in flight."""
    loop = asyncio.get_running_loop()
    pool = _process_pool()
    await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(SLOTS)))
    await in_process(_ready, timeout_s=30)


def shutdown() -> None:
    """Stop the pool's processes (the next ``in_pool`` starts new ones)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


async def in_pool(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` in the shared process pool (``fn`` importable, arguments and
    result picklable); at most ``SLOTS`` at once. A broken pool (a killed child) is replaced."""
    global _pool
    from concurrent.futures.process import BrokenProcessPool
    from functools import partial

    call = partial(fn, *args, **kwargs)
    async with _semaphore("pool"):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_process_pool(), call)
        except BrokenProcessPool:
            _pool = None
            return await loop.run_in_executor(_process_pool(), call)


# Below this many characters the work costs a few milliseconds: cheaper inline than a process hop
# (pickling and IPC cost more than the work itself on a typical essay).
INLINE_BELOW = 20_000


async def cpu(fn: Callable[..., T], *args, size: int, **kwargs) -> T:
    """``fn`` inline for small inputs (``size`` characters), in the process pool for large ones."""
    if size < INLINE_BELOW:
        return fn(*args, **kwargs)
    return await in_pool(fn, *args, **kwargs)
