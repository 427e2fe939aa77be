"""A fault-injecting OpenAI-compatible server of the tests' own, on 127.0.0.1.

It speaks just enough of the API (``GET /v1/models``, ``POST /v1/chat/completions``) to stand in
for vLLM, and answers each chat request according to a mode, taken from a queue or the default:

``valid``        a valid answer of the requested schema (proposer, judge or executor)
``null_task``    a proposer answer whose task is the string "null"
``fenced``       a valid proposer answer in a ```json fence with prose around it
``truncated``    an answer cut off mid-string (finish_reason "length")
``broken_body``  the HTTP body itself is cut off (not JSON)
``wrong_schema`` valid JSON of another shape
``empty``        an empty answer
``429``, ``500``, ``502``, ``503``, ``400``, ``404``  that status (429 and 503 with Retry-After: 0)
``hang``         no answer for ``hang_s`` seconds (the client times out first)
``trickle``      the answer one byte every ``trickle_s`` (each read is quick; the whole is not)
``huge``         a 3 MiB answer (a server that ignores max_tokens)

A refused connection is a port nobody listens on: :func:`closed_port` or :meth:`FaultServer.stop`
(the server can be started again on the same port to play a recovery).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_ANSWER = {
    "Purpose": "The user is fixing the failing test in tests/test_io.py.",
    "Thoughts": "The test run failed twice on the same assertion; the user may want to see the failing line.",
    "Proactive Task": "Open the failing assertion of test_parse_empty",
    "Response": "The test test_parse_empty still fails at tests/test_io.py:12. Shall I open it?",
}
VALID_JUDGEMENT = {"thought": "I am fixing this test, so opening it helps me.", "judgement": "accepted"}
VALID_EXECUTION = {
    "kind": "markdown",
    "title": "Why test_parse_empty fails",
    "markdown": "The parser returns None for ''.",
}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False


class FaultServer:
    def __init__(self, model: str = "proactive-test", max_model_len: int = 4096) -> None:
        self.model = model
        self.max_model_len = max_model_len
        self.default_mode = "valid"
        self.queue: deque[str] = deque()
        self.hang_s = 5.0
        self.trickle_s = 0.2
        self.answers: dict[str, Any] = {
            "proactive_answer": dict(VALID_ANSWER),
            "proactive_judgement": dict(VALID_JUDGEMENT),
            "proactive_execution": dict(VALID_EXECUTION),
        }
        self.requests: list[dict[str, Any]] = []  # the bodies of chat requests, in arrival order
        self.raw_bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.modes_served: list[str] = []
        self.model_list_requests = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- control ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, port: int = 0) -> FaultServer:
        self._httpd = _Server(("127.0.0.1", port or self.port), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: from now on connections are refused (until :meth:`start` again)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def push(self, *modes: str) -> None:
        with self._lock:
            self.queue.extend(modes)

    def chat_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _next_mode(self) -> str:
        with self._lock:
            mode = self.queue.popleft() if self.queue else self.default_mode
            self.modes_served.append(mode)
            return mode

    # -- the handler --------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
            ) -> None:
                body = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    with server._lock:
                        server.model_list_requests += 1
                    self._send(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": server.model,
                                    "object": "model",
                                    "owned_by": "fault-server",
                                    "max_model_len": server.max_model_len,
                                }
                            ],
                        },
                    )
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw)
                with server._lock:
                    server.requests.append(body)
                    server.raw_bodies.append(raw)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if body.get("model") != server.model:
                    server._next_mode()
                    self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
                    return
                self._answer(server._next_mode(), body)

            def _answer(self, mode: str, body: dict[str, Any]) -> None:
                if mode == "hang":
                    time.sleep(server.hang_s)
                    mode = "valid"
                if mode == "trickle":  # headers at once, then one byte every trickle_s: only a total deadline ends it
                    full = json.dumps(self._completion(json.dumps(server.answers["proactive_answer"]), "stop", body))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(full)))
                    self.end_headers()
                    try:
                        for ch in full.encode():
                            self.wfile.write(bytes([ch]))
                            self.wfile.flush()
                            time.sleep(server.trickle_s)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if mode == "huge":  # a server that ignores max_tokens and the schema
                    huge = {**VALID_ANSWER, "Response": "A" * (3 * 1024 * 1024)}
                    self._send(200, self._completion(json.dumps(huge), "stop", body))
                    return
                if mode.isdigit():
                    status = int(mode)
                    headers = {"Retry-After": "0"} if status in (429, 503) else {}
                    self._send(status, {"error": {"message": f"injected {status}", "code": status}}, headers)
                    return
                schema_name = ((body.get("response_format") or {}).get("json_schema") or {}).get(
                    "name", "proactive_answer"
                )
                answer = server.answers.get(schema_name, VALID_ANSWER)
                finish = "stop"
                if mode == "valid":
                    content = json.dumps(answer)
                elif mode == "null_task":
                    content = json.dumps({**VALID_ANSWER, "Proactive Task": "null", "Response": "null"})
                elif mode == "fenced":
                    content = (
                        "Sure! Here is my analysis:\n```json\n" + json.dumps(answer, indent=2) + "\n```\nLet me know."
                    )
                elif mode == "truncated":
                    content = json.dumps(answer)[:40]
                    finish = "length"
                elif mode == "wrong_schema":
                    content = json.dumps({"answer": "I think the user is coding.", "confidence": 0.4})
                elif mode == "empty":
                    content = ""
                elif mode == "broken_body":
                    full = json.dumps(self._completion(json.dumps(answer), finish, body)).encode()
                    self._send(200, None, raw=full[: len(full) // 2])
                    return
                else:
                    raise ValueError(f"unknown mode {mode}")
                self._send(200, self._completion(content, finish, body))

            def _completion(self, content: str, finish: str, body: dict[str, Any]) -> dict[str, Any]:
                prompt = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
                return {
                    "id": "chatcmpl-fault",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": server.model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
                    ],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": len(content) // 4,
                        "total_tokens": prompt + len(content) // 4,
                        "prompt_tokens_details": {"cached_tokens": (prompt // 2) if len(server.requests) > 1 else 0},
                    },
                }

        return Handler
