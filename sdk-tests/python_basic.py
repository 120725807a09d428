"""The official Python SDK (UnleashClient) against Signalbox: fetch, is_enabled, 304s (the SDK
sends If-None-Match), register and metrics without errors, and a kill visible within the
refresh interval. Exits non-zero on any failed check."""

import logging
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from admin import BASE, api, sdk_token, wait_for  # noqa: E402
from UnleashClient import UnleashClient  # noqa: E402
from UnleashClient.utils import InstanceAllowType  # noqa: E402

REFRESH_SECONDS = 1
MARGIN_SECONDS = 2
FLAGS = "/v1/projects/default/flags"
APP_NAME = "signalbox-sdk-tests-python"

failures = 0


def check(ok, what, detail=""):
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} python-sdk: {what}{f' ({detail})' if detail else ''}", flush=True)
    if not ok:
        failures += 1
    return ok


class Records(logging.Handler):
    """Keeps what the SDK logs, to find its own word on register, metrics and failures."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.guard = threading.Lock()
        self.records = []

    def emit(self, record):
        with self.guard:
            self.records.append((record.levelno, record.getMessage()))

    def messages(self, min_level=logging.DEBUG):
        with self.guard:
            return [m for level, m in self.records if level >= min_level]


def main():
    records = Records()
    sdk_logger = logging.getLogger("UnleashClient")
    sdk_logger.setLevel(logging.DEBUG)
    sdk_logger.addHandler(records)

    secret = sdk_token("client", "production")
    key = f"python-polling-{time.time_ns()}"
    api("POST", FLAGS, {"key": key})
    api("POST", f"{FLAGS}/{key}/environments/production/on", {})

    client = UnleashClient(
        url=f"{BASE}/api",
        app_name=APP_NAME,
        instance_id="python-polling",
        refresh_interval=REFRESH_SECONDS,
        metrics_interval=1,
        custom_headers={"Authorization": secret},
        cache_directory=tempfile.mkdtemp(prefix="sbx-python-cache-"),  # nothing cached before
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    # Watch the SDK's own fetches: each FetchResult says whether the answer was a 304.
    transport = client._transport  # noqa: SLF001 (observed, not changed)
    fetch = transport.fetch_features
    fetches = []

    def observed_fetch(etag=""):
        result = fetch(etag)
        fetches.append(("304" if result.not_modified else "200" if result.raw_state else "failed", bool(etag)))
        return result

    transport.fetch_features = observed_fetch

    client.initialize_client()  # registers, then fetches once before returning
    check(fetches[:1] == [("200", False)], "the first fetch got the flags", f"fetches: {fetches}")
    check(client.is_enabled(key) is True, f"is_enabled({key}) is true once on")
    for _ in range(10):
        client.is_enabled(key)

    got_304 = wait_for(lambda: any(status == "304" for status, _ in fetches), 5)
    check(got_304 is not None, "a later poll sent If-None-Match and got 304", f"fetches: {fetches[:6]}")
    check(
        any("successfully registered" in m for m in records.messages()),
        "register was accepted (202)",
    )
    sent = wait_for(lambda: any("metrics successfully sent" in m for m in records.messages()), 5)
    check(sent is not None, "metrics were accepted (202)")

    # The server's side of it: the instance in /v1/applications, the counts in the flag's usage.
    apps = api("GET", "/v1/applications").get("data", [])
    instances = [i for a in apps if a.get("app_name") == APP_NAME for i in a.get("instances", [])]
    instance = next((i for i in instances if i.get("instance_id") == "python-polling"), None)
    check(
        instance is not None and str(instance.get("sdk_version")).endswith(":" + version("UnleashClient")),
        f"GET /v1/applications lists {APP_NAME}/python-polling with its SDK version",
        f"sdk_version {instance.get('sdk_version')}" if instance else "not listed",
    )
    usage = api("GET", f"{FLAGS}/{key}").get("usage") or []
    counted = sum(u.get("yes", 0) for u in usage if u.get("app_name") == APP_NAME)
    check(counted > 0, f"the flag's usage counts {APP_NAME}'s evaluations", f"yes={counted}")

    killed_at = time.monotonic()
    api("POST", f"{FLAGS}/{key}/kill", {"reason": "test"})
    seen = wait_for(lambda: client.is_enabled(key) is False, REFRESH_SECONDS + MARGIN_SECONDS)
    took = None if seen is None else time.monotonic() - killed_at
    check(
        took is not None,
        f"the kill is visible within the {REFRESH_SECONDS} s interval + {MARGIN_SECONDS} s",
        "not seen" if took is None else f"seen after {took * 1000:.0f} ms",
    )
    if took is not None:
        print(f"measure python-sdk polling kill->visible: {took * 1000:.0f} ms", flush=True)

    client.destroy()
    problems = [m for m in records.messages(logging.WARNING)]
    check(not problems, "the SDK logged no warnings or errors", "; ".join(problems[:5]))


try:
    main()
except Exception as error:  # noqa: BLE001
    import traceback

    traceback.print_exc()
    check(False, "ran to the end", repr(error))
print(f"python-sdk basic checks: {'all passed' if failures == 0 else f'{failures} FAILED'}", flush=True)
sys.exit(0 if failures == 0 else 1)
