"""ttsign's test suite (a package, so ``tests.fakes`` is importable as ``python -m tests.fakes.tiktok``)."""
