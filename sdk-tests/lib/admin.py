"""Admin API helpers for the Python scripts: the server's URL and an owner session come from
run.sh (SBX_BASE_URL, SBX_ADMIN_TOKEN). Only 127.0.0.1 is ever contacted."""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _required(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: run this through sdk-tests/run.sh")
    return value


BASE = _required("SBX_BASE_URL")
ADMIN = _required("SBX_ADMIN_TOKEN")


def api(method, path, body=None):
    """Calls the admin API; raises with the server's answer unless the status is 2xx."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"authorization": f"Bearer {ADMIN}"}
    if data is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {path} answered {error.code}: {error.read().decode()[:500]}") from None
    return json.loads(text) if text else None


def sdk_token(token_type, environment, projects=None):
    body = {"name": f"{token_type}-{environment}-{time.time_ns()}", "type": token_type, "environment": environment}
    if projects is not None:
        body["projects"] = projects
    return api("POST", "/v1/sdk-tokens", body)["secret"]


def spec_world(prefix, index, state, token_type):
    """A fresh project and environment (keys `<prefix>-<nn>`) holding the spec's state."""
    key = f"{prefix}-{index:02d}"
    api("POST", "/v1/projects", {"key": key})
    api("POST", "/v1/environments", {"key": key, "type": "test"})
    query = urllib.parse.urlencode({"project": key, "environment": key})
    imported = api("POST", f"/v1/import/unleash?{query}", state)
    return {"project": key, "environment": key, "secret": sdk_token(token_type, key, [key]), "imported": imported}


def spec_files(package):
    directory = HERE / "node_modules" / package / "specifications"
    names = json.loads((directory / "index.json").read_text())
    return [(i + 1, name, json.loads((directory / name).read_text())) for i, name in enumerate(names)]


def spec_version(package):
    return json.loads((HERE / "node_modules" / package / "package.json").read_text())["version"]


def normal_variant(v):
    """Variants compared as the SDKs' own spec runners do: name, enabled, payload, feature_enabled."""
    if not isinstance(v, dict):
        return v
    out = {"name": v.get("name"), "enabled": v.get("enabled")}
    if v.get("payload") is not None:
        out["payload"] = v["payload"]
    out["feature_enabled"] = v.get("feature_enabled", v.get("featureEnabled"))
    return out


# Each case is evaluated REPEAT times: an answer that changes between evaluations (random
# stickiness where the spec expects a sticky one) fails even when one draw happens to match.
REPEAT = 10


def repeated(answer, expected):
    """Runs `answer` REPEAT times: (got, passed), got being the answer or a description of the
    different ones."""
    answers = [answer() for _ in range(REPEAT)]
    passed = all(a == expected and type(a) is type(expected) for a in answers)
    if all(a == answers[0] and type(a) is type(answers[0]) for a in answers):
        return answers[0], passed
    counts = {}
    for a in answers:
        key = json.dumps(a, sort_keys=True, default=str)
        counts[key] = counts.get(key, 0) + 1
    described = ", ".join(f"{k} ×{n}" for k, n in counts.items())
    return f"varies over {REPEAT} evaluations: {described}", passed


def write_results(runner, result):
    directory = Path(_required("SBX_RESULTS_DIR"))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{runner}.json").write_text(json.dumps(result, indent=2))


def wait_for(check, limit_seconds):
    """Polls `check` every 20 ms until true; returns the elapsed seconds, or None past the limit."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > limit_seconds:
            return None
        time.sleep(0.02)
