"""`make demo`: every kind of profile, end to end, against the embedded emulator.

It starts three emulated clusters on loopback (a Kubeflow 1.11 Platform behind
oauth2-proxy and Dex, a Platform seen from inside a pod, and a standalone KFP),
writes a temporary profiles file with all four kinds, stores the demo password
in a private Secret Service keyring started for the demo, connects with each
profile through the real kfp SDK, then forces the Dex session to expire and
shows the client renewing it by itself.

It never uses the user's own keyring or cache folder: its profile is called
"prod", as theirs may be, and storing or deleting a "prod" password or session
there would destroy theirs. The private keyring and the temporary folder (where
the cached sessions go) are removed at the end.

There is no Kubernetes cluster here, so the port-forward profile runs the
stand-in kubectl of the tests (tests/fakes/kubectl), which forwards for real.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kfp_profiles import KfpProfilesError, get_client, resolve
from kfp_profiles.testing import Emulator

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "kubeflow-user-example-com"
DEMO_USER, DEMO_PASSWORD = "user@example.com", "12341234"
POD_TOKEN = "demo-serviceaccount-token"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(title: str, emu: Emulator | None, action: Callable[[], Any]) -> Any:
    """Run one step and print its time and the requests the emulator saw."""
    if emu is not None:
        emu.reset_counts()
    started = time.perf_counter()
    result = action()
    elapsed = (time.perf_counter() - started) * 1000
    requests = f"{emu.total_requests:>2} requests" if emu is not None else ""
    say(f"  {title:<52} {elapsed:7.1f} ms  {requests}")
    return result


@contextlib.contextmanager
def demo_keyring() -> Iterator[str]:
    """Keep the password of "prod" in a private Secret Service, or in KFP_PASSWORD.

    Either way the user's own keyring is out of reach of this process and its
    children, for passwords and cached sessions alike.
    """
    from pydantic import SecretStr

    from kfp_profiles import secrets
    from kfp_profiles.testing.keyring import (
        KeyringHarnessError,
        SecretServiceKeyring,
        reset_keyring_backend,
    )

    try:
        harness = SecretServiceKeyring().start()
    except KeyringHarnessError as exc:
        # keyring is switched off, so the cached session goes to the file store,
        # whose folder (XDG_CACHE_HOME) is the demo's temporary one.
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        reset_keyring_backend()
        os.environ["KFP_PASSWORD"] = DEMO_PASSWORD
        yield f"KFP_PASSWORD, because no private keyring can start here ({str(exc).rstrip('.')})"
        return
    try:
        harness.apply_env()
        secrets.set_password("prod", SecretStr(DEMO_PASSWORD))
        yield "a private Secret Service started for the demo (never your own keyring)"
    finally:
        # Puts the environment back and removes the keyring with all it holds.
        harness.stop()


def write_profiles(folder: Path, platform: Emulator, pod: Emulator, standalone: Emulator) -> Path:
    token = folder / "token"
    token.write_text(POD_TOKEN)
    forward_port = free_port()
    path = folder / "profiles.toml"
    path.write_text(
        f"""\
default = "prod"

[profiles.prod]
kind = "platform-dex"
host = "{platform.api_url}"
username = "{DEMO_USER}"
namespace = "{NAMESPACE}"
description = "Kubeflow 1.11: oauth2-proxy + Dex"

[profiles.notebook]
kind = "platform-in-cluster"
host = "{pod.api_url}"
namespace = "{NAMESPACE}"
token_path = "{token}"
description = "a notebook pod with a projected ServiceAccount token"

[profiles.ci]
kind = "standalone-in-cluster"
host = "{standalone.api_url}"
description = "a pod next to a standalone KFP"

[profiles.laptop]
kind = "standalone-port-forward"
local_port = {forward_port}
kubectl = "{REPO / "tests" / "fakes" / "kubectl"}"
description = "kubectl port-forward, started by kfp-profiles"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    # The stand-in kubectl forwards "svc/ml-pipeline-ui" to the standalone KFP.
    os.environ["FAKE_KUBECTL_TARGET"] = standalone.url.removeprefix("http://")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def experiments(client: Any) -> str:
    found = client.list_experiments().experiments or []
    return ", ".join(e.display_name for e in found) or "(none)"


def main() -> int:
    warnings.simplefilter("ignore", FutureWarning)
    # The user's own KFP_PROFILE, KFP_HOST, KFP_PASSWORD... would point the
    # demo's profiles at their clusters and credentials.
    for name in [name for name in os.environ if name.startswith(("KFP_", "KF_PIPELINES_"))]:
        del os.environ[name]
    with contextlib.ExitStack() as stack:
        platform = stack.enter_context(Emulator.for_release("1.11"))
        pod = stack.enter_context(
            Emulator(
                door="none",
                multi_user=True,
                tokens={POD_TOKEN: f"system:serviceaccount:{NAMESPACE}:default-editor"},
            )
        )
        standalone = stack.enter_context(Emulator(door="none"))
        platform.add_experiment("fraud-model", namespace=NAMESPACE)
        pod.add_experiment("nightly-retrain", namespace=NAMESPACE)
        standalone.add_experiment("hello-kfp")

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kfp-demo-")))
        # Where the file store keeps sessions: the demo's folder, never ~/.cache.
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        os.environ["KFP_PROFILES_FILE"] = str(write_profiles(folder, platform, pod, standalone))
        say(f"Profiles file: {os.environ['KFP_PROFILES_FILE']}")

        where = stack.enter_context(demo_keyring())
        say(f"Dex password of profile prod kept in {where}.")
        say()

        say("Connect with every kind, list experiments (the first also imports kfp):")
        profiles = (
            ("prod", platform),
            ("notebook", pod),
            ("ci", standalone),
            ("laptop", standalone),
        )
        for name, emu in profiles:
            kind = resolve(name).kind
            client = step(
                f"get_client({name!r})  [{kind}]", emu, functools.partial(get_client, name)
            )
            if kind == "standalone-port-forward":
                say(f"      kubectl port-forward started, serving {client.base_url}")
            names = step("  list_experiments()", emu, functools.partial(experiments, client))
            say(f"      -> {names}")
        say()

        say("The Dex session expires (as after 24 hours); the next call renews it:")
        client = get_client("prod")
        platform.expire_sessions()
        names = step(
            "list_experiments() on the expired session", platform, lambda: experiments(client)
        )
        say(f"    -> {names}; one login, one retry, no empty result")
        say()

        say("A new process reuses the cached session with no login:")
        import subprocess

        script = "from kfp_profiles import get_client; get_client('prod').list_experiments()"
        step(
            "python -c 'get_client(\"prod\").list_experiments()'",
            platform,
            lambda: subprocess.run([sys.executable, "-c", script], check=True, env=os.environ),
        )
        say()
        say("Done. The demo's keyring and folder are removed; yours were never touched.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KfpProfilesError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        sys.exit(1)
