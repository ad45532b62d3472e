"""``python -m kfp_profiles.testing``: an emulated Kubeflow in the foreground, to try by hand.

Starts the emulator of one Kubeflow release on loopback and prints the host, user,
password and namespace to put in a profile; Ctrl-C stops it. No cluster needed.
"""

from __future__ import annotations

import argparse
import signal
import threading

from .emulator import DEFAULT_USERS, Emulator
from .kfp_api import default_namespace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kfp_profiles.testing",
        description="Run an emulated Kubeflow (front door, Dex, KFP API) until Ctrl-C.",
    )
    parser.add_argument(
        "--release",
        default="1.11",
        choices=[*Emulator.RELEASES, "standalone"],
        help="Kubeflow release whose front door and Dex to play (default: 1.11); "
        "standalone: a KFP API with no front door",
    )
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    args = parser.parse_args(argv)
    if args.release == "standalone":
        emulator = Emulator(door="none", tls=args.tls)
    else:
        emulator = Emulator.for_release(args.release, tls=args.tls)
    user, password = next(iter(DEFAULT_USERS.items()))
    namespace = default_namespace(user)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        trust = f"\n  ca_bundle  {emulator.ca_path}" if emulator.ca_path else ""
        if args.release == "standalone":
            print(
                f"A standalone KFP API at {emulator.api_url}{trust}\n"
                "Try it:\n"
                f"  kfp-profiles add local --kind standalone-in-cluster --host {emulator.api_url}"
                "\n  kfp-profiles check local",
                flush=True,
            )
        else:
            print(
                f"Kubeflow {args.release} (front door {emulator.door}, Dex "
                f"{emulator.dex_version}) at {emulator.url}\n"
                f"  host       {emulator.api_url}\n"
                f"  username   {user}\n"
                f"  password   {password}\n"
                f"  namespace  {namespace}{trust}\n"
                "Try it:\n"
                f"  kfp-profiles add local --kind platform-dex --host {emulator.api_url} "
                f"--username {user} --namespace {namespace}\n"
                f"  KFP_PASSWORD={password} kfp-profiles check local",
                flush=True,
            )
        print("Ctrl-C stops it.", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
