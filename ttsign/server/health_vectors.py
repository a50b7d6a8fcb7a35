# ruff: noqa: E501  (tokens are data: one unbroken line each)
"""The signer self-test's reference vectors: real-SDK captures, copied (only the fields the checkers read)
from the project's vector files, so the installed package carries them.

* `tests/vectors/xbogus.json` `xb-dev-26`: X-Bogus from webmssdk 1.0.0.368.
* `tests/vectors/gnarly532.json` `sdk-4`: X-Gnarly 5.3.2 from the genuine webmssdk 2.0.0.561 (its sealed
  X-Dynosaur is cross-verified too).
* `tests/vectors/dynosaur.json` `sdk-4`: X-Dynosaur 5.3.2, the same capture.

`tests/api/test_health.py` checks that these still equal the entries in those files.
"""

from __future__ import annotations

from typing import Any

SOURCES = (("xbogus.json", "xb-dev-26"), ("gnarly532.json", "sdk-4"), ("dynosaur.json", "sdk-4"))

REFERENCE_VECTORS: list[dict[str, Any]] = [
    {
        "kind": "x-bogus",
        "id": "xb-dev-26",
        "query": "aid=1988&count=30&cursor=0",
        "body": "",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
        "timestamp_s": 1700000000,
        "canvas": 0,
        "env_bytes_hex": "40000000",
        "expected_x_bogus": "DFSzswSLDxhANG-GtmWx-t9WcBJi",
    },
    {
        "kind": "x-gnarly-5.3.2",
        "id": "sdk-4",
        "inputs": {
            "business_query": "aid=1988&count=10",
            "x_dynosaur": "MJwYIg1RDerVcH/siw5vkDtpPq28/NbLOziIn1B3XVUYUNVQ2ci7wAA8jmtuQmWPEEs2Z8TfJXY-U3A0s54UwuL-WnH9JZrGLpkVEH/9mXYxvpH57/4UqkfyVcxORXzurOzLqlomKhpkfQuLzHqswleAFfCVtdEtwipwO6x-PaQ44Tu7c/9SyLU0kZVaVajxI/i2WJq8gbbNRQh-otlx773VrnnT/MfmxwR11oVfAWtk9psmVAGZXiUq/QU9hTrGYvoBCGNrs9HAt4rDlNOgtQiRkyrfzcalKOd5s3sCrVuqEWTnTCMIZVS5uk95F6Ks1wVYI40YLgcvGdoRccEazFfJkxT/GXW8CVSwsQaypdrpS/luFv5rQjwkrD2DoZMKJgfinPrfPsZ=",
            "ms_token": "",
            "sealed_query": "aid=1988&count=10&X-Dynosaur=MJwYIg1RDerVcH/siw5vkDtpPq28/NbLOziIn1B3XVUYUNVQ2ci7wAA8jmtuQmWPEEs2Z8TfJXY-U3A0s54UwuL-WnH9JZrGLpkVEH/9mXYxvpH57/4UqkfyVcxORXzurOzLqlomKhpkfQuLzHqswleAFfCVtdEtwipwO6x-PaQ44Tu7c/9SyLU0kZVaVajxI/i2WJq8gbbNRQh-otlx773VrnnT/MfmxwR11oVfAWtk9psmVAGZXiUq/QU9hTrGYvoBCGNrs9HAt4rDlNOgtQiRkyrfzcalKOd5s3sCrVuqEWTnTCMIZVS5uk95F6Ks1wVYI40YLgcvGdoRccEazFfJkxT/GXW8CVSwsQaypdrpS/luFv5rQjwkrD2DoZMKJgfinPrfPsZ=&msToken=",
            "body_hex": "",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "timestamp": 1788856078,
            "nonce": 52032313,
            "nonce2": 4242945079,
            "sequence": 1,
            "env_code": 129,
            "ub_code": 14,
            "sdk_version": "5.3.2",
            "scm_version": "2.0.0.561",
            "record_order": [9, 2, 0, 10, 6, 16, 12, 13, 3, 1, 5, 4, 11, 14, 15, 8],
            "key_words": [
                110199929,
                3425922960,
                2220260331,
                856875292,
                3342478878,
                2791964422,
                3961841004,
                2540417530,
                2664435235,
                3722301734,
                3636874694,
                625594914,
            ],
        },
        "expected": {
            "x_gnarly": "MFXp1HcAedBouHs9i1YK40XlWBbHfX1Nc/W6usty3sPUeSe8UxL/eAeBEfF1NBQlZO6q3HaD5IOc5uho3zNHwz5DUnzr2WDrNODYjz8urn/IJwKhwWXuuTaBQRGf/R64QMKpRk4XYUvZ4a2qVR-y5ZNzBUtkBLe4qhuH6nhUNX8eKOwFicLyd0axNgb3W3wOOrYHLGZn/VvOUQ/K8kTPhhofxMXfcjSj4JerRg/1R7578W53F9EMMMzfJXrVWbSdW4QqpuJKAQqS9c4kZEFB2C7lhENadMOM3uzRzjDJ6zt3TsmhftfqMUU3Cz6Hn0pKyiR="
        },
    },
    {
        "kind": "x-dynosaur-5.3.2",
        "id": "sdk-4",
        "inputs": {
            "business_query": "aid=1988&count=10",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "timestamp": 1788856078,
            "nonce": 52032174,
            "counter_25": 1,
            "counter_2f": 1,
            "env_code": 129,
            "ub_code": 14,
            "page": "www.tiktok.com/",
            "canvas_hash": "-1",
            "webgl_hash": "0",
            "component_version": "0",
            "device_hash": "0",
            "body_hash_input": "",
            "vm_state_hash": 3295470419,
            "sdk_version": "5.3.2",
            "scm_version": "2.0.0.561",
            "key_words": [
                3465629445,
                2818820546,
                789670997,
                997786302,
                4151189881,
                2806483319,
                3997642507,
                3527027,
                2786407739,
                2783534646,
                354464432,
                4065835603,
            ],
        },
        "expected": {
            "x_dynosaur": "MJwYIg1RDerVcH/siw5vkDtpPq28/NbLOziIn1B3XVUYUNVQ2ci7wAA8jmtuQmWPEEs2Z8TfJXY-U3A0s54UwuL-WnH9JZrGLpkVEH/9mXYxvpH57/4UqkfyVcxORXzurOzLqlomKhpkfQuLzHqswleAFfCVtdEtwipwO6x-PaQ44Tu7c/9SyLU0kZVaVajxI/i2WJq8gbbNRQh-otlx773VrnnT/MfmxwR11oVfAWtk9psmVAGZXiUq/QU9hTrGYvoBCGNrs9HAt4rDlNOgtQiRkyrfzcalKOd5s3sCrVuqEWTnTCMIZVS5uk95F6Ks1wVYI40YLgcvGdoRccEazFfJkxT/GXW8CVSwsQaypdrpS/luFv5rQjwkrD2DoZMKJgfinPrfPsZ="
        },
    },
]
