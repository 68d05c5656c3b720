"""Django's ASGI handler, changed so that an open event stream holds no thread.

Django runs each request in its own ``ThreadSensitiveContext``; the first sync call of the
request (the ``request_started`` receivers already) starts a worker thread for that context,
and the thread lives until the response is finished. For an event stream that is hours: one
idle thread per reader. Once a stream's headers go out, its sync work is done, so the handler
gives the thread back; the rare sync call after that (closing the response) gets a fresh one.
"""

from asgiref.sync import SyncToAsync
from django.core.handlers.asgi import ASGIHandler


def release_request_thread() -> None:
    """Stop the current request context's idle worker thread (asgiref keeps one per context)."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    executor = SyncToAsync.context_to_thread_executor.pop(context, None) if context is not None else None
    if executor is not None:
        executor.shutdown(wait=False)


class StreamingASGIHandler(ASGIHandler):
    async def send_response(self, response, send):
        if response.streaming and response.get("Content-Type", "").startswith("text/event-stream"):
            release_request_thread()
        await super().send_response(response, send)
