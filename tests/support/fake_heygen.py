"""
A small fake of HeyGen's workflows API on 127.0.0.1, for tests that need exact control over
responses (fault sequences, malformed bodies) and an exact count of what the client sent.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXECUTIONS_PATH = "/v1/workflows/executions"
VIDEOS_PATH = "/v3/videos"
# The single read's status words and the bulk read's, for a fake v3 video.
SINGLE_WORDS = {"running": "processing", "completed": "completed", "failed": "failed"}
BULK_WORDS = {"running": "processing", "completed": "completed", "failed": "failed"}


@dataclass
class Reply:
    """A scripted reply, served instead of normal handling to the next matching request."""

    status: int
    body: bytes | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # None: any method
    delay: float = 0.0  # seconds to stall before answering

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode() if isinstance(self.body, dict) else self.body


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Plan:
    """How new executions behave: polls answered 'running' (HeyGen's word) before the final status."""

    polls: int = 1
    status: str = "completed"
    error: str = "No face detected in source image"


@dataclass
class FakeExecution:
    workflow_type: str
    polls_left: int
    status: str
    error: str


class FakeHeyGen:
    """
    The fake server. ``start()`` returns its base URL; ``replies`` holds scripted replies.

    :param api_key: the only key accepted.
    """

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.executions: dict[str, FakeExecution] = {}
        self.plan = Plan()
        self.connections = 0
        # Submissions that create their execution and then close the connection without an answer.
        self.lose_submission_replies = 0
        # v3 videos (for bulk status reads): their state, ids left out of bulk answers, the ids of
        # every bulk request in order.
        self.videos: dict[str, FakeExecution] = {}
        self.omit_from_bulk: set[str] = set()
        self.bulk_requests: list[list[str]] = []
        self.bulk_request_times: list[float] = []  # time.monotonic() of each, as it arrived
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.scheme = "http"

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str, path_prefix: str = EXECUTIONS_PATH) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path.startswith(path_prefix))

    @property
    def submissions(self) -> int:
        """POSTs that created an execution."""
        return len(self.executions)

    def add_execution(
        self, workflow_type: str = "FaceswapNode", polls: int = 0, status: str = "completed"
    ) -> str:
        execution_id = f"node-gw-{uuid.uuid4().hex[:12]}"
        self.executions[execution_id] = FakeExecution(workflow_type, polls, status, self.plan.error)
        return execution_id

    def add_video(self, polls: int = 0, status: str = "completed") -> str:
        """A v3 video that reads as processing for ``polls`` reads (bulk or single), then ``status``."""
        video_id = f"vid{uuid.uuid4().hex[:16]}"
        self.videos[video_id] = FakeExecution("video", polls, status, self.plan.error)
        return video_id

    def video_url(self, execution_id: str) -> str:
        return f"{self.base_url}/media/{execution_id}.mp4"

    def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        """Serve on a free loopback port (over TLS with ``ssl_context``); return the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                    if fake._loses_this_reply(self.command, self.path, self.headers.get("X-Api-Key"), body):
                        self.close_connection = True
                        return
                    api = self.path.startswith(("/v1/", "/v3/"))
                    reply = fake._take_reply(self.command) if api else None
                    if reply is None:
                        reply = fake._answer(self.command, self.path, self.headers.get("X-Api-Key"), body)
                payload = reply.encoded()
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Type" not in reply.headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up waiting
                    self.wfile.write(payload)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _loses_this_reply(self, method: str, path: str, api_key: str | None, body: bytes) -> bool:
        """Create the submission's execution, then report that its answer is to be lost."""
        if not (self.lose_submission_replies and method == "POST" and path == EXECUTIONS_PATH):
            return False
        if api_key != self.api_key:
            return False
        self.lose_submission_replies -= 1
        self.add_execution(json.loads(body)["workflow_type"], self.plan.polls, self.plan.status)
        return True

    def _take_reply(self, method: str) -> Reply | None:
        for reply in list(self.replies):
            if reply.method in (None, method):
                self.replies.remove(reply)
                return reply
        return None

    def _answer(self, method: str, path: str, api_key: str | None, body: bytes) -> Reply:
        if path.startswith("/media/"):
            return Reply(200, b"\x00\x00\x00\x18ftypmp42fake-video", {"Content-Type": "video/mp4"})
        if api_key != self.api_key:
            return Reply(401, {"data": None, "error": {"code": "unauthorized", "message": "Invalid API key"}})
        if method == "POST" and path == EXECUTIONS_PATH:
            request = json.loads(body)
            execution_id = self.add_execution(request["workflow_type"], self.plan.polls, self.plan.status)
            return Reply(200, {"data": {"execution_id": execution_id, "status": "submitted"}})
        if method == "GET" and path.startswith(EXECUTIONS_PATH + "/"):
            return self._status(path.rsplit("/", 1)[1])
        if method == "GET" and path == "/v3/users/me":
            account = {
                "username": "fake-user",
                "billing_type": "wallet",
                "wallet": {"remaining_balance": 42.5},
            }
            return Reply(200, {"data": account})
        if method == "GET" and path.startswith(VIDEOS_PATH + "/statuses"):
            return self._bulk(path)
        if method == "GET" and path.startswith(VIDEOS_PATH + "/"):
            return self._video(path.rsplit("/", 1)[1])
        return Reply(404, {"data": None, "error": {"code": "not_found", "message": "No route"}})

    def _status(self, execution_id: str) -> Reply:
        execution = self.executions.get(execution_id)
        if execution is None:
            return Reply(
                404,
                {
                    "data": {"execution_id": execution_id, "status": "not_found"},
                    "error": {"code": "not_found", "message": "Workflow execution not found."},
                },
            )
        data: dict[str, Any] = {"execution_id": execution_id, "workflow_type": execution.workflow_type}
        if execution.polls_left > 0:
            execution.polls_left -= 1
            data["status"] = "running"
        elif execution.status == "completed":
            data["status"] = "completed"
            url = self.video_url(execution_id)
            data["output"] = (
                {"video": {"video_url": url}}
                if execution.workflow_type == "AvatarInferenceNode"
                else {"video_url": url}
            )
        else:
            data["status"] = execution.status
            data["error"] = {"message": execution.error}
        return Reply(200, {"data": data})

    def _state_after_read(self, video: FakeExecution) -> str:
        if video.polls_left > 0:
            video.polls_left -= 1
            return "running"
        return video.status

    def _bulk(self, path: str) -> Reply:
        from urllib.parse import parse_qs, urlsplit

        ids = [i for i in parse_qs(urlsplit(path).query).get("video_ids", [""])[0].split(",") if i]
        self.bulk_request_times.append(time.monotonic())
        self.bulk_requests.append(ids)
        if len(ids) > 100:
            return Reply(400, {"error": {"code": "invalid_parameter", "message": "at most 100 ids"}})
        entries: list[dict[str, Any]] = []
        for video_id in ids:
            if video_id in self.omit_from_bulk:
                continue
            video = self.videos.get(video_id)
            if video is None:
                entries.append({"video_id": video_id, "status": "not_found"})
                continue
            state = self._state_after_read(video)
            entry: dict[str, Any] = {"video_id": video_id, "status": BULK_WORDS[state]}
            if state == "failed":
                entry["error"] = {"message": video.error}
            entries.append(entry)
        return Reply(200, {"data": entries})

    def _video(self, video_id: str) -> Reply:
        video = self.videos.get(video_id)
        if video is None:
            return Reply(404, {"error": {"code": "video_not_found", "message": "Video not found"}})
        state = self._state_after_read(video)
        data: dict[str, Any] = {"id": video_id, "status": SINGLE_WORDS[state]}
        if state == "completed":
            data["video_url"] = self.video_url(video_id)
        if state == "failed":
            data["failure_message"] = video.error
        return Reply(200, {"data": data})
