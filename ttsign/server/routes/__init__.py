"""ttsign.server.routes."""
