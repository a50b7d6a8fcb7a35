"""ttsign.server."""
