"""ttsign.signing."""
