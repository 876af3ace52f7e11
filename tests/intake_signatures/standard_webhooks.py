"""The reference Standard Webhooks library's side of tests/intake_signatures.rs.

Reads one JSON request on stdin:
  {"sign":   [{"secret": "whsec_...", "id": "...", "timestamp": <seconds>, "body": "..."}],
   "verify": [{"secret": "whsec_...", "headers": {"webhook-id": ...}, "body": "..."}]}
and writes {"version": "<the library's>", "signed": ["v1,..."], "verified": [null | "why not"]}.
The library verifies against its own clock (it takes no "now").
"""

import json
import sys
from datetime import datetime, timezone
from importlib.metadata import version

from standardwebhooks.webhooks import Webhook


def main() -> None:
    request = json.load(sys.stdin)
    signed = [
        Webhook(s["secret"]).sign(
            s["id"], datetime.fromtimestamp(s["timestamp"], tz=timezone.utc), s["body"]
        )
        for s in request["sign"]
    ]
    verified = []
    for v in request["verify"]:
        try:
            Webhook(v["secret"]).verify(v["body"].encode(), v["headers"], json_parse=False)
            verified.append(None)
        except Exception as e:  # noqa: BLE001 - any failure is a rejection to report
            verified.append(f"{type(e).__name__}: {e}")
    json.dump(
        {"version": version("standardwebhooks"), "signed": signed, "verified": verified},
        sys.stdout,
    )


main()
