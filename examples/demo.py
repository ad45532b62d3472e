"""`make demo`: every kind of profile, end to end, against the embedded emulator.

It starts three emulated clusters on loopback (a Kubeflow 1.11 Platform behind
oauth2-proxy and Dex, a Platform seen from inside a pod, and a standalone KFP),
writes a temporary profiles file with all six kinds, stores the demo password
in a private Secret Service keyring started for the demo, connects with each
profile through the real kfp SDK, then forces the Dex session to expire and
shows the client renewing it by itself. Last come the two bearer-token kinds on
the Platform: a ServiceAccount token from `kubectl create token` (platform-token)
and a person's sign-in through Dex's device flow (platform-oidc), approved by a
scripted person at a browser; both tokens expire and the next calls renew them
(the command runs again; one silent refresh).

It never uses the user's own keyring or cache folder: its profile is called
"prod", as theirs may be, and storing or deleting a "prod" password or session
there would destroy theirs. The private keyring and the temporary folder (where
the cached sessions, the command's token and the sign-in go) are removed at the end.

There is no Kubernetes cluster here, so the port-forward and token profiles run
the stand-in kubectl of the tests (tests/fakes/kubectl), which forwards for real
and asks the emulated cluster's API for real signed ServiceAccount tokens.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kfp_profiles import KfpProfilesError, get_client, resolve
from kfp_profiles.testing import Emulator

REPO = Path(__file__).resolve().parent.parent
KUBECTL = REPO / "tests" / "fakes" / "kubectl"
NAMESPACE = "kubeflow-user-example-com"
DEMO_USER, DEMO_PASSWORD = "user@example.com", "12341234"
POD_TOKEN = "demo-serviceaccount-token"
#: Seconds the bearer tokens live in the demo's last part (about an hour in a cluster).
#: Renewal comes at half a token's life at the latest, and Dex mints the ID token when
#: the person approves, a poll (1 s) before the client gets it: 5 s leaves room.
TOKEN_LIFE = 5


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
kubectl = "{KUBECTL}"
description = "kubectl port-forward, started by kfp-profiles"

[profiles.robot]
kind = "platform-token"
host = "{platform.url}"
namespace = "{NAMESPACE}"
token_command = {json.dumps([str(KUBECTL), "-n", NAMESPACE, "create", "token", "default-editor"])}
description = "a CI job acting as a ServiceAccount"

[profiles.sso]
kind = "platform-oidc"
host = "{platform.url}"
namespace = "{NAMESPACE}"
client_id = "kfp-profiles"
flow = "device"
description = "a person signing in through the cluster's identity provider"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    # The stand-in kubectl forwards "svc/ml-pipeline-ui" to the standalone KFP, and its
    # `create token` asks the Platform's cluster API; each run adds a line to the log.
    os.environ["FAKE_KUBECTL_TARGET"] = standalone.url.removeprefix("http://")
    os.environ["FAKE_KUBECTL_API"] = platform.kube_url
    os.environ["FAKE_KUBECTL_TOKEN_LOG"] = str(folder / "token-runs.jsonl")
    return path


def token_runs() -> int:
    """How many times the stand-in `kubectl create token` ran."""
    log = Path(os.environ["FAKE_KUBECTL_TOKEN_LOG"])
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


class ScriptedPerson(io.StringIO):
    """Reads what the sign-in prints (standard error, redirected here) and does what it says.

    The device flow prints a URL and a code: this person opens that URL in a
    browser (``browse``), types the code, signs in as the demo user and
    approves, while the sign-in polls Dex. Should the walk fail, the person
    refuses the code, so the sign-in ends at once with its error.
    """

    def __init__(self, emu: Emulator) -> None:
        super().__init__()
        self._emu = emu
        #: Requests the person's browser made (the emulator counts them with the rest).
        self.browser_requests = 0

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                say(f"      {line}")
        asked = re.search(r"open (\S+) and enter the code (\S+)", text)
        if asked is not None:
            url, code = asked.group(1), asked.group(2)
            say(f"      (a scripted person opens it, enters {code}, signs in and approves)")
            threading.Thread(target=self._approve, args=(url, code), daemon=True).start()
        return len(text)

    def _approve(self, url: str, code: str) -> None:
        from kfp_profiles.testing import browse

        try:
            visit = browse(url, user_code=code, user=DEMO_USER, password=DEMO_PASSWORD)
            self.browser_requests = len(visit.history)
            problem = None if "Login Successful" in visit.text else f"stopped at {visit.url}"
        except Exception as exc:
            problem = str(exc)
        if problem is not None:
            say(f"      (the scripted person could not approve: {problem})")
            with contextlib.suppress(Exception):
                self._emu.approve_device(code, approve=False)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def experiments(client: Any) -> str:
    found = client.list_experiments().experiments or []
    return ", ".join(e.display_name for e in found) or "(none)"


def bearer_tokens(platform: Emulator) -> None:
    """platform-token and platform-oidc: connect, let both tokens expire, call again."""
    # Both tokens get a short life, so that the demo can wait for them to expire.
    platform.service_account_token_lifetime = TOKEN_LIFE
    platform.oidc.id_token_lifetime = TOKEN_LIFE
    say("Bearer tokens at the gateway: a ServiceAccount's, and a person's single sign-on:")
    robot = step(
        "get_client('robot')  [platform-token]", platform, functools.partial(get_client, "robot")
    )
    names = step("  list_experiments()", platform, functools.partial(experiments, robot))
    say(f"      -> {names}; `kubectl create token` ran {token_runs()} time in all")
    person = ScriptedPerson(platform)
    with contextlib.redirect_stderr(person):
        sso = step(
            "get_client('sso', prompt=True)  [platform-oidc]",
            platform,
            functools.partial(get_client, "sso", prompt=True),
        )
        names = step("  list_experiments()", platform, functools.partial(experiments, sso))
    say(
        f"      -> {names}; {person.browser_requests} of the requests were the person's "
        "browser; no password was typed into Python"
    )
    say()

    say(f"Both tokens expire (they live {TOKEN_LIFE} s here, about an hour in a cluster).")
    say(f"Waiting {TOKEN_LIFE} s; then the next calls renew them:")
    time.sleep(TOKEN_LIFE + 0.1)
    runs = token_runs()
    names = step(
        "robot: list_experiments() on the expired token",
        platform,
        functools.partial(experiments, robot),
    )
    say(f"    -> {names}; the command ran again first ({token_runs() - runs} run), none refused")
    refreshes = platform.grant_counts["refresh_token"]
    names = step(
        "sso: list_experiments() on the expired ID token",
        platform,
        functools.partial(experiments, sso),
    )
    refreshed = platform.grant_counts["refresh_token"] - refreshes
    say(f"    -> {names}; {refreshed} silent refresh at the token endpoint, no sign-in")


def main() -> int:
    warnings.simplefilter("ignore", FutureWarning)
    # The user's own KFP_PROFILE, KFP_HOST, KFP_PASSWORD... would point the
    # demo's profiles at their clusters and credentials.
    for name in [name for name in os.environ if name.startswith(("KFP_", "KF_PIPELINES_"))]:
        del os.environ[name]
    with contextlib.ExitStack() as stack:
        # Dex asks device-flow clients to poll every 5 s; 1 s here keeps the demo short.
        platform = stack.enter_context(Emulator.for_release("1.11", device_interval=1))
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
        bearer_tokens(platform)
        say()
        say("Done. The demo's keyring and folder are removed; yours were never touched.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KfpProfilesError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        sys.exit(1)
