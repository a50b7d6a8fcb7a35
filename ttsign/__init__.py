"""ttsign: a self-hosted TikTok web signing server (X-Bogus, X-Gnarly, X-Dynosaur in pure Python)."""

__version__ = "0.1.0"
