"""ttsign.store."""
