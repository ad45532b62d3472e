"""The `kfp-profiles port-forward` loop: kubectl in the foreground, restarted, stopped by Ctrl-C."""

from __future__ import annotations

import dataclasses
import sys
from typing import TextIO

from ..portforward import PortForward, PortForwardSpec, kfp_already_at


def run_foreground(
    spec: PortForwardSpec,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the forward until Ctrl-C, printing kubectl's lines.

    A kubectl that exits (its pod restarted) is started again on the same port.
    Ctrl-C stops kubectl and returns 0. Errors starting it raise ``PortForwardError``.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr

    def show(stream: str, line: str) -> None:
        print(line, file=out if stream == "stdout" else err, flush=True)

    url = kfp_already_at(spec)
    if url is not None:
        print(
            f"{url} already answers as Kubeflow Pipelines; nothing to start.", file=out, flush=True
        )
        return 0
    run_spec, port_checked = spec, True
    try:
        while True:
            forward = PortForward(run_spec, on_output=show)
            forward.start(port_checked=port_checked)
            try:
                print(
                    f"Kubeflow Pipelines of profile '{spec.profile}' at {forward.url} "
                    "(Ctrl-C to stop)",
                    file=out,
                    flush=True,
                )
                status = forward.wait()
            finally:
                forward.stop()
            print(
                f"kubectl exited with status {status} ({forward.last_error_line()}); "
                "starting it again",
                file=err,
                flush=True,
            )
            # Another program may take the port meanwhile: this start probes it.
            run_spec, port_checked = dataclasses.replace(spec, local_port=forward.port), False
    except KeyboardInterrupt:
        return 0
