"""Many ftplib sign-ins at once, for the login storm tests; prints one JSON line of outcomes.

Usage: login-storm.py '{"host": ..., "port": ..., "logins": [{"address": "127.0.2.1", "secure": true, "user": ..., "password": ...}]}'
All clients start together; each connects (from its own source address), says AUTH TLS when secure, USER and PASS.
Each outcome: {"reply": "230 ...", "after": PWD's answer} or {"reply": "530 ..." / "421 ..."} or {"error": "..."}.
"""
import ftplib
import json
import ssl
import sys
import threading

plan = json.loads(sys.argv[1])
logins = plan["logins"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ready = threading.Barrier(len(logins), timeout=600)
results = [None] * len(logins)


def run(i, d):
    out = {"i": i, "reply": None, "after": None, "error": None}
    results[i] = out
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    ftp = ftplib.FTP_TLS(context=ctx, timeout=300) if d["secure"] else ftplib.FTP(timeout=300)
    try:
        ftp.connect(plan["host"], plan["port"], source_address=(d["address"], 0))
        if d["secure"]:
            ftp.auth()
    except Exception as e:
        out["error"] = f"connect: {e!r}"
        ftp.close()
        return
    try:
        out["reply"] = ftp.login(d["user"], d["password"])
    except (ftplib.error_perm, ftplib.error_temp) as e:
        out["reply"] = str(e)
    except Exception as e:
        out["error"] = f"login: {e!r}"
    if out["reply"] and out["reply"].startswith("230"):
        # What the session said next (a share cut meanwhile answers 421 here, not at the sign-in).
        try:
            out["after"] = ftp.pwd()
            ftp.quit()
        except Exception as e:
            out["after"] = str(e)
    ftp.close()


threads = [threading.Thread(target=run, args=(i, d), daemon=True) for i, d in enumerate(logins)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(results))
