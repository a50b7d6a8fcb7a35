"""Signing providers: native (our own algorithms), browser (TikTok's own SDK in Chromium), remote (another
sign server), and the chain that tries them in order with a circuit breaker each (`chain.ProviderChain`).

`base` holds what every provider shares: the job a route hands in (`SignJob`), the answer it gets back
(`ProviderAnswer`), the one error type (`ProviderError`, with a `kind`), and `signed_from_url`, which turns a
signed URL that came from elsewhere (a browser, another server) into our `SignedRequest`.
"""
