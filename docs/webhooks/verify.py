# Verifies a tempoftp webhook (Standard Webhooks) with Python's standard library only. The README shows verify();
# tests/integration/webhooks.test.ts runs this file against real deliveries (stdin: {"secret", "headers", "body"}).
import base64, hashlib, hmac, time


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    msg_id, ts, signatures = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(ts)) > tolerance:  # a replayed old delivery
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    # Space-separated "v1,<base64>" entries (two during a secret rotation): one match is enough.
    return any(hmac.compare_digest(expected, s[3:]) for s in signatures.split() if s.startswith("v1,"))


if __name__ == "__main__":
    import json, sys

    msg = json.load(sys.stdin)
    print("valid" if verify(msg["secret"], msg["headers"], msg["body"].encode()) else "invalid")
