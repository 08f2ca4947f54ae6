"""Network transports: the WebSocket client (`venuegate.net.ws`); REST and rate limits follow."""
