"""The Unleash client specification v5.2.2 through the official Python SDK: for each spec file a
fresh project and environment get the spec's state through the Unleash import, and an SDK
fetches it from Signalbox (no bootstrap, an empty cache) and answers every case.
Mismatches are results, not errors: the exit code is non-zero only if the runner crashes."""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from admin import BASE, normal_variant, repeated, spec_files, spec_version, spec_world, write_results  # noqa: E402
from UnleashClient import UnleashClient  # noqa: E402
from UnleashClient.utils import InstanceAllowType  # noqa: E402

PACKAGE = "spec-5"


def guard(evaluate):
    try:
        return evaluate()
    except Exception as error:  # noqa: BLE001 (an SDK that throws gives a wrong answer)
        return f"threw {error!r}"


def connect(world, app_name):
    client = UnleashClient(
        url=f"{BASE}/api",
        app_name=app_name,
        instance_id=f"spec-{world['project']}",
        refresh_interval=3600,
        disable_metrics=True,
        disable_registration=True,
        custom_headers={"Authorization": world["secret"]},
        cache_directory=tempfile.mkdtemp(prefix="sbx-python-spec-"),
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    transport = client._transport  # noqa: SLF001 (observed, not changed)
    fetch = transport.fetch_features
    fetched = []

    def observed_fetch(etag=""):
        result = fetch(etag)
        fetched.append(result.raw_state is not None)
        return result

    transport.fetch_features = observed_fetch
    client.initialize_client()
    if fetched[:1] != [True]:
        client.destroy()
        raise RuntimeError("the SDK's first fetch did not get the flags")
    return client


def main():
    result = {"runner": "python-sdk", "label": "Python SDK UnleashClient", "spec": spec_version(PACKAGE), "files": []}
    for index, name, spec in spec_files(PACKAGE):
        file = {"file": name, "cases": []}
        result["files"].append(file)
        client = None
        try:
            client = connect(spec_world("py5", index, spec["state"], "client"), name.removesuffix(".json"))
        except Exception as error:  # noqa: BLE001 (a setup failure is reported per file)
            file["setupError"] = str(error)
        for test in spec.get("tests") or []:
            case = {"kind": "test", "description": test["description"], "toggleName": test["toggleName"],
                    "context": test.get("context"), "expected": test["expectedResult"], "got": None, "pass": False}
            if client is not None:
                case["got"], case["pass"] = repeated(
                    lambda: guard(lambda: client.is_enabled(test["toggleName"], test.get("context"))),
                    test["expectedResult"],
                )
            file["cases"].append(case)
        for test in spec.get("variantTests") or []:
            expected = normal_variant(test["expectedResult"])
            case = {"kind": "variant", "description": test["description"], "toggleName": test["toggleName"],
                    "context": test.get("context"), "expected": expected, "got": None, "pass": False}
            if client is not None:
                case["got"], case["pass"] = repeated(
                    lambda: guard(lambda: normal_variant(client.get_variant(test["toggleName"], test.get("context")))),
                    expected,
                )
            file["cases"].append(case)
        if client is not None:
            client.destroy()
        passed = sum(1 for c in file["cases"] if c["pass"])
        setup = f" (setup: {file['setupError']})" if "setupError" in file else ""
        print(f"python-sdk spec {result['spec']} {name}: {passed}/{len(file['cases'])}{setup}", flush=True)
    write_results("python-sdk", result)


main()
