"""ttsign.monitor."""
