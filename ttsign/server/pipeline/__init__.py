"""The request pipeline: small pure-ASGI middlewares, one concern each, composed in order by
`ttsign.server.middleware.install` (outermost first):

1. `request_id.RequestId`: the caller's sane `X-Request-Id`, else a new one, on `state` and on the answer.
2. `access_log.AccessLog`: metrics and one structured line per request (error kind and redacted message
   on non-2xx, 499 for a client that left), the request's secrets registered for redaction, and a JSON 500
   as the answer of last resort.
3. `size_limit.SizeLimit`: 400/413 on the declared length before anything is read; the body bounded in
   size (413) and time (408) while the route reads it.
4. `api_key_auth.ApiKeyAuth`: the failed-key throttle (429), then the key (401 with `WWW-Authenticate`);
   names the caller (a key id, or the client address in open mode).
5. `rate_limit.RateLimit`: the caller's minute/hour/day limits (429 with the headers both clients parse).

A middleware that refuses a request answers it itself (`asgi.send_error`) and calls nothing further in.
"""
