"""Real-time delivery (RFC-0006): frames stored with events, SSE/WebSocket consumers fed
from the event log, and wake-ups through the channel layer. See docs/streams.md."""
