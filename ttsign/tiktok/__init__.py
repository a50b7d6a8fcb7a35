"""ttsign.tiktok."""
