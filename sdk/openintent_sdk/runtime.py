"""A small agent runtime.

``Worker(agent_id, handler)`` registers the agent (RFC-0016), heartbeats, follows the agent's
SSE stream and calls ``handler(ctx)`` for every assignment. A handler that returns a dict has it
patched into the intent's state. Decorator agents do the same with methods::

    @agent("summarizer")
    class Summarizer:
        @on_assignment
        def begin(self, ctx):
            return {"summary": summarize(ctx.intent.state["text"])}

        @on_state_change(["feedback"])
        def revise(self, ctx): ...

        @on_event("comment")
        def comment(self, ctx): ...

        @on_complete
        def done(self, ctx): ...

    Summarizer().run()          # blocks; SIGTERM/SIGINT drain it

State-change, event and completion handlers are fed from the streams of the intents the agent
is assigned to (followed automatically) and from whatever the server relays on the agent
stream; frames with the same id are handled once.

On SIGTERM (or ``stop()``) the worker drains: it takes no new work, lets running handlers
finish (up to ``timeout``), then marks the agent ``deregistered``.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from . import models as m
from .client import Client
from .errors import ConflictError, GoneError, OpenIntentError
from .validation import require_text

log = logging.getLogger("openintent_sdk.runtime")

Handler = Callable[["Context"], Any]

ASSIGNMENT, STATE_CHANGE, EVENT, COMPLETE = "assignment", "state_change", "event", "complete"


class Context:
    """What a handler gets: the triggering frame and helpers bound to the intent."""

    def __init__(self, worker: "Worker", event: m.StreamEvent, intent_id: str, *,
                 changed_keys: Iterable[str] = ()) -> None:
        self.worker = worker
        self.client: Client = worker.client
        self.agent_id = worker.agent_id
        self.event = event
        self.intent_id = intent_id
        self.changed_keys = set(changed_keys)
        self._intent: m.Intent | None = None

    @property
    def data(self) -> Any:
        return self.event.data

    @property
    def intent(self) -> m.Intent:
        """The intent, read once from the server (``refresh()`` re-reads it)."""
        if self._intent is None:
            self._intent = self.client.intents.get(self.intent_id)
        return self._intent

    @property
    def state(self) -> dict:
        return self.intent.state

    def refresh(self) -> m.Intent:
        self._intent = None
        return self.intent

    def patch(self, values: dict) -> m.Intent:
        """Set top-level state keys (re-reads and retries on version conflicts)."""
        self._intent = self.client.intents.update_state(self.intent_id, values, retry_on_conflict=True)
        return self._intent

    def log(self, event_type: str, payload: dict | None = None) -> m.Event:
        return self.client.events.log(self.intent_id, event_type, payload)

    def lease(self, scope: str, duration_seconds: int = 60, **kw: Any):
        return self.client.lease(self.intent_id, scope, duration_seconds, **kw)

    def complete(self, reason: str | None = None) -> m.Intent:
        self._intent = self.client.intents.set_status(self.intent_id, "completed", reason=reason,
                                                      retry_on_conflict=True)
        return self._intent


class Worker:
    """Run handlers for an agent. ``handler`` (optional) handles assignments; add more with
    ``worker.on_assignment(fn)``, ``worker.on_state_change(["key"])(fn)``,
    ``worker.on_event("type")(fn)`` and ``worker.on_complete(fn)``.

    Connection: pass ``client=`` or ``base_url=``/``api_key=`` (defaults: env
    ``OPENINTENT_URL`` / ``OPENINTENT_API_KEY``, else ``http://127.0.0.1:8000`` and
    ``dev-user-key``).
    """

    def __init__(self, agent_id: str, handler: Handler | None = None, *, client: Client | None = None,
                 base_url: str | None = None, api_key: str | None = None, name: str | None = None,
                 role_id: str | None = None, capabilities: Iterable[str] = (), register: bool = True,
                 heartbeat_interval: float | None = None, heartbeat_config: dict | None = None,
                 concurrency: int = 4, follow_intents: bool = True, record_failures: bool = True,
                 stream_read_timeout: float = 45.0, handle_signals: bool = True) -> None:
        require_text("agent_id", agent_id)
        self.agent_id = agent_id
        self.client = client or Client(base_url or os.environ.get("OPENINTENT_URL", "http://127.0.0.1:8000"),
                                       api_key or os.environ.get("OPENINTENT_API_KEY", "dev-user-key"), agent_id)
        if self.client.agent_id != agent_id:
            self.client = self.client.with_agent(agent_id)
        self.name = name
        self.role_id = role_id
        self.capabilities = list(capabilities)
        self.register = register
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_config = heartbeat_config
        self.concurrency = concurrency
        self.follow_intents = follow_intents
        self.record_failures = record_failures
        self.stream_read_timeout = stream_read_timeout
        self.handle_signals = handle_signals
        self.handlers: list[tuple[str, Any, Handler]] = []
        if handler is not None:
            self.handlers.append((ASSIGNMENT, None, handler))
        self.registered = False
        self.record: m.AgentRecord | None = None
        self.processed = 0
        self.errors: list[BaseException] = []
        self.assigned: set[str] = set()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._draining = threading.Event()
        self._lock = threading.Lock()
        self._seen: dict[str, set[int]] = {}
        self._states: dict[str, dict] = {}
        self._streams: dict[str, Any] = {}
        self._threads: list[threading.Thread] = []
        self._executor: ThreadPoolExecutor | None = None
        self._connected = threading.Event()

    # --- handler registration -----------------------------------------------------------------

    def on_assignment(self, fn: Handler) -> Handler:
        self.handlers.append((ASSIGNMENT, None, fn))
        return fn

    def on_state_change(self, keys: Iterable[str] | None = None) -> Callable[[Handler], Handler]:
        def add(fn: Handler) -> Handler:
            self.handlers.append((STATE_CHANGE, set(keys) if keys else None, fn))
            return fn
        return add

    def on_event(self, event_type: str = "*") -> Callable[[Handler], Handler]:
        def add(fn: Handler) -> Handler:
            self.handlers.append((EVENT, event_type, fn))
            return fn
        return add

    def on_complete(self, fn: Handler) -> Handler:
        self.handlers.append((COMPLETE, None, fn))
        return fn

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def wait_connected(self, timeout: float = 10) -> bool:
        """Block until the agent stream is open (useful in tests and scripts)."""
        return self._connected.wait(timeout)

    def start(self) -> "Worker":
        """Register, then start the heartbeat and stream threads; returns at once."""
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"{self.agent_id}-handler")
        if self.register:
            self._register()
        if self.registered:
            self._spawn(self._heartbeat_loop, "heartbeat")
        self._spawn(self._agent_stream_loop, "agent-stream")
        return self

    def run(self) -> None:
        """``start()`` and block until stopped; SIGTERM and SIGINT drain the worker."""
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: threading.Thread(target=self.stop, daemon=True).start())
        self.start()
        while not self._stopped.wait(0.5):
            pass

    def stop(self, timeout: float = 30.0) -> None:
        """Drain: stop taking work, let running handlers finish (up to ``timeout`` seconds),
        then deregister the agent."""
        with self._lock:
            if self._draining.is_set():
                already = True
            else:
                already = False
                self._draining.set()
        if already:
            self._stopped.wait(timeout)
            return
        log.info("worker %s draining", self.agent_id)
        # Local drain first: no new work, close the streams, let running handlers finish (they
        # may still need leases, which the server refuses to agents marked `draining`) ...
        self._stop.set()
        for stream in list(self._streams.values()):
            stream.close()
        if self._executor is not None:
            waiter = threading.Thread(target=self._executor.shutdown, kwargs={"wait": True}, daemon=True)
            waiter.start()
            waiter.join(timeout)
            if waiter.is_alive():
                log.warning("worker %s: handlers still running after %ss; stopping anyway", self.agent_id, timeout)
        for thread in self._threads:
            thread.join(timeout=5)
        # ... then leave the registry.
        if self.registered:
            self._quietly(lambda: self.client.agents.set_status("deregistered", self.agent_id, reason="drained"))
        self._stopped.set()
        log.info("worker %s stopped", self.agent_id)

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- internals ----------------------------------------------------------------------------

    def _spawn(self, target: Callable, name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"{self.agent_id}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    @staticmethod
    def _quietly(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except OpenIntentError as exc:
            log.debug("ignored: %s", exc)
            return None

    def _register(self) -> None:
        try:
            self.record = self.client.agents.register(
                self.agent_id, name=self.name, role_id=self.role_id, capabilities=self.capabilities,
                heartbeat_config=self.heartbeat_config)
            self.registered = True
        except ConflictError:
            # Already registered and alive (e.g. a restart within the heartbeat window).
            self.registered = True
            self.record = self._quietly(lambda: self.client.agents.get(self.agent_id))
        except OpenIntentError as exc:
            # Registration is optional in the protocol: keep working without it.
            log.warning("agent registration failed (%s); running unregistered", exc)
        if self.heartbeat_interval is None:
            config = (self.record.heartbeat_config if self.record else None) or {}
            self.heartbeat_interval = float(config.get("interval_seconds") or 30)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            try:
                beat = self.client.agents.heartbeat(self.agent_id, current_load=len(self.assigned))
            except GoneError:
                log.warning("agent %s was declared dead; registering again", self.agent_id)
                self._quietly(self._register)
                continue
            except OpenIntentError as exc:
                log.warning("heartbeat failed: %s", exc)
                continue
            if any(c.get("command") == "drain" for c in beat.pending_commands if isinstance(c, dict)):
                threading.Thread(target=self.stop, daemon=True).start()

    def _follow(self, key: str, make_stream: Callable[[], Any], on_frame: Callable[[m.StreamEvent], None],
                on_open: Callable[[], None] | None = None) -> None:
        while not self._stop.is_set():
            stream = make_stream()
            self._streams[key] = stream
            if self._stop.is_set():
                stream.close()
                return
            try:
                if on_open:
                    on_open()
                for frame in stream:
                    if self._stop.is_set():
                        break
                    on_frame(frame)
            except OpenIntentError as exc:
                if self._stop.is_set():
                    return
                log.warning("stream %s failed: %s; reopening", key, exc)
                self._stop.wait(2.0)
            finally:
                stream.close()
                self._streams.pop(key, None)
            if key.startswith("intent:") and key[7:] not in self.assigned:
                return

    def _agent_stream_loop(self) -> None:
        self._follow("agent", lambda: self.client.stream(agent_id=self.agent_id, read_timeout=self.stream_read_timeout,
                                                         max_failures=None),
                     self._on_agent_frame, on_open=self._connected.set)

    def _needs_intent_stream(self) -> bool:
        return self.follow_intents and any(kind != ASSIGNMENT for kind, _, _ in self.handlers)

    def _on_agent_frame(self, frame: m.StreamEvent) -> None:
        kind = frame.type
        data = frame.data if isinstance(frame.data, dict) else {}
        intent_id = frame.intent_id
        if kind == "agent_assigned":
            if data.get("agent_id") not in (None, self.agent_id) or not intent_id or self.draining:
                return
            with self._lock:
                new = intent_id not in self.assigned
                self.assigned.add(intent_id)
            if new and self._needs_intent_stream():
                # Resume the intent's stream right after the assignment event (its sequence is
                # the part after ':' of the frame id), so nothing between the two is missed.
                after = frame.id.rsplit(":", 1)[-1] if frame.id and ":" in frame.id else None
                self._spawn(self._intent_stream_loop, f"intent-{intent_id[:8]}", intent_id, after)
            self._submit(ASSIGNMENT, frame, intent_id)
        elif kind == "agent_unassigned":
            if intent_id and data.get("agent_id") in (None, self.agent_id):
                self._forget(intent_id)
        elif intent_id:
            self._on_intent_frame(intent_id, frame)

    def _intent_stream_loop(self, intent_id: str, after: str | None = None) -> None:
        cursor = {"last": after}

        def make():
            return self.client.stream(intent_id=intent_id, last_event_id=cursor["last"],
                                      read_timeout=self.stream_read_timeout, max_failures=None)

        def on_frame(frame: m.StreamEvent) -> None:
            if frame.id:
                cursor["last"] = frame.id
            self._on_intent_frame(intent_id, frame)

        self._follow(f"intent:{intent_id}", make, on_frame)

    def _first_time(self, intent_id: str, frame: m.StreamEvent) -> bool:
        if not frame.id:
            return True
        try:
            seq = int(frame.id.rsplit(":", 1)[-1])
        except ValueError:
            return True
        with self._lock:
            seen = self._seen.setdefault(intent_id, set())
            if seq in seen:
                return False
            seen.add(seq)
            return True

    def _on_intent_frame(self, intent_id: str, frame: m.StreamEvent) -> None:
        if self.draining or not self._first_time(intent_id, frame):
            return
        kind = frame.type
        data = frame.data if isinstance(frame.data, dict) else {}
        if kind == "state_patched":
            new_state = data.get("new_state", data.get("state"))
            old_state = data.get("old_state", self._states.get(intent_id))
            changed: set[str] = set()
            if isinstance(new_state, dict):
                old = old_state if isinstance(old_state, dict) else {}
                changed = {k for k in set(new_state) | set(old) if new_state.get(k) != old.get(k)}
                self._states[intent_id] = new_state
            self._submit(STATE_CHANGE, frame, intent_id, changed)
        elif kind == "status_changed":
            status = data.get("new_status", data.get("status"))
            if status == "completed":
                self._submit(COMPLETE, frame, intent_id)
        self._submit(EVENT, frame, intent_id)
        if kind == "status_changed" and data.get("new_status", data.get("status")) in ("completed", "abandoned"):
            self._forget(intent_id)

    def _forget(self, intent_id: str) -> None:
        """Stop following a finished (or unassigned) intent."""
        with self._lock:
            self.assigned.discard(intent_id)
        stream = self._streams.get(f"intent:{intent_id}")
        if stream is not None:
            stream.close()

    def _submit(self, kind: str, frame: m.StreamEvent, intent_id: str, changed: set[str] | None = None) -> None:
        matching = []
        for handler_kind, arg, fn in self.handlers:
            if handler_kind != kind:
                continue
            if kind == STATE_CHANGE and arg is not None and not (changed and arg & changed):
                continue
            if kind == EVENT and not (fnmatch.fnmatchcase(frame.event, arg) or fnmatch.fnmatchcase(frame.type, arg)):
                continue
            matching.append(fn)
        if not matching or self._executor is None or self.draining:
            return
        ctx_changed = changed or ()
        for fn in matching:
            try:
                self._executor.submit(self._call, fn, Context(self, frame, intent_id, changed_keys=ctx_changed), kind)
            except RuntimeError:  # executor shut down while draining
                return

    def _call(self, fn: Handler, ctx: Context, kind: str) -> None:
        try:
            result = fn(ctx)
            if isinstance(result, dict) and result:
                ctx.patch(result)
        except Exception as exc:  # noqa: BLE001 - a handler failure must not kill the worker
            log.exception("handler %s failed on %s", getattr(fn, "__name__", fn), ctx.intent_id)
            self.errors.append(exc)
            if self.record_failures and kind == ASSIGNMENT:
                self._quietly(lambda error=exc: self.client.retries.record_failure(
                    ctx.intent_id, type(error).__name__, str(error)[:1000]))
        finally:
            with self._lock:
                self.processed += 1


# --- decorator agents -------------------------------------------------------------------------

def _mark(fn: Callable, kind: str, arg: Any = None) -> Callable:
    marks = list(getattr(fn, "_openintent_handlers", []))
    marks.append((kind, arg))
    fn._openintent_handlers = marks
    return fn


def on_assignment(fn: Callable) -> Callable:
    """Mark a method to run when the agent is assigned to an intent."""
    return _mark(fn, ASSIGNMENT)


def on_state_change(keys: Iterable[str] | Callable | None = None):
    """Mark a method to run when the state of an assigned intent changes (only when one of
    ``keys`` changed, if given). Usable bare or called."""
    if callable(keys):
        return _mark(keys, STATE_CHANGE)
    if isinstance(keys, str):
        keys = [keys]
    return lambda fn: _mark(fn, STATE_CHANGE, set(keys) if keys else None)


def on_event(event_type: str | Callable = "*"):
    """Mark a method to run for frames of ``event_type`` (a glob) on assigned intents."""
    if callable(event_type):
        return _mark(event_type, EVENT, "*")
    return lambda fn: _mark(fn, EVENT, event_type)


def on_complete(fn: Callable) -> Callable:
    """Mark a method to run when an assigned intent is completed."""
    return _mark(fn, COMPLETE)


def agent(agent_id: str | type | None = None, **worker_options: Any):
    """Class decorator: turn a class whose methods carry ``@on_*`` marks into an agent.
    Instances gain ``worker()`` (build the :class:`Worker`), ``start()``, ``run()`` and
    ``stop()``; options are :class:`Worker` keyword arguments (overridable per call)."""

    def wrap(cls: type) -> type:
        taken = [name for name in ("worker", "start", "run", "stop") if name in vars(cls)]
        if taken:
            # The decorator adds these methods; a handler of the same name would be replaced
            # silently and never fire.
            raise TypeError(f"@agent class {cls.__name__} may not define {', '.join(taken)}(): rename the handler")
        cls.agent_id = agent_id if isinstance(agent_id, str) else cls.__name__.lower()
        cls.worker_options = worker_options

        def build_worker(self, **overrides: Any) -> Worker:
            options = {**cls.worker_options, **overrides}
            worker = Worker(options.pop("agent_id", cls.agent_id), **options)
            for attr in dir(type(self)):
                fn = getattr(type(self), attr, None)
                for kind, arg in getattr(fn, "_openintent_handlers", []):
                    bound = getattr(self, attr)
                    worker.handlers.append((kind, arg, bound))
            self._worker = worker
            self.client = worker.client
            return worker

        def start(self, **overrides: Any) -> Worker:
            return build_worker(self, **overrides).start()

        def run(self, **overrides: Any) -> None:
            build_worker(self, **overrides).run()

        def stop(self, timeout: float = 30.0) -> None:
            if getattr(self, "_worker", None) is not None:
                self._worker.stop(timeout)

        cls.worker = build_worker
        cls.start = start
        cls.run = run
        cls.stop = stop
        return cls

    if isinstance(agent_id, type):
        return wrap(agent_id)
    return wrap
