"""A real freedesktop Secret Service for tests: gnome-keyring on a private D-Bus.

Tests that store a password must go through the keyring users have, not an
in-memory stand-in. ``SecretServiceKeyring`` starts, headless and as any user
(root included), a ``dbus-daemon`` of its own and a ``gnome-keyring-daemon``
unlocked with a throwaway password, both confined to a private temporary
folder so ``$HOME`` is never read or written and every harness starts empty::

    with SecretServiceKeyring() as ring:
        ring.apply_env()          # DBUS_SESSION_BUS_ADDRESS, PYTHON_KEYRING_BACKEND, XDG_*
        keyring.set_password("kfp-profiles", "prod", "...")
        ring.restore_env()

The pytest fixtures in ``kfp_profiles.testing.plugin`` wrap it for a session.
Only the standard library is imported at module level: ``keyring`` and
``secretstorage`` load inside the methods that talk to the keyring.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from .lifetime import Background

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "APT_INSTALL_COMMAND",
    "KEYRING_BACKEND",
    "KeyringHarnessError",
    "SecretServiceKeyring",
    "missing_binaries",
    "missing_packages",
    "reset_keyring_backend",
    "use_secret_service_backend",
]

#: The value of PYTHON_KEYRING_BACKEND that makes a missing bus fail loudly
#: instead of letting ``keyring`` fall back to another backend.
KEYRING_BACKEND = "keyring.backends.SecretService.Keyring"

#: Each binary the harness runs, and the Debian package that ships it.
_PACKAGE_OF_BINARY = {
    "gnome-keyring-daemon": "gnome-keyring",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
}

#: The command that installs them all on Debian and Ubuntu.
APT_INSTALL_COMMAND = "apt-get install -y --no-install-recommends " + " ".join(
    dict.fromkeys(_PACKAGE_OF_BINARY.values())
)

_SECRETS_BUS_NAME = "org.freedesktop.secrets"
_DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"

# AF_UNIX socket paths are cut off at 108 bytes on Linux; gnome-keyring adds
# `runtime/keyring/control` under the folder, so keep the folder itself short.
_MAX_DIR_LENGTH = 60


class KeyringHarnessError(RuntimeError):
    """The Secret Service harness could not start, or lost its daemons."""


def missing_binaries() -> list[str]:
    """The binaries the harness needs that are not on ``PATH``."""
    return [binary for binary in _PACKAGE_OF_BINARY if shutil.which(binary) is None]


def missing_packages() -> list[str]:
    """The Debian packages to install so that the harness can start (empty when none)."""
    packages: list[str] = []
    for binary in missing_binaries():
        package = _PACKAGE_OF_BINARY[binary]
        if package not in packages:
            packages.append(package)
    return packages


def use_secret_service_backend() -> KeyringBackend:
    """Make ``keyring`` use a fresh SecretService backend, and return it.

    ``keyring`` picks its backend once and caches it, so a change of
    ``DBUS_SESSION_BUS_ADDRESS`` or ``PYTHON_KEYRING_BACKEND`` is ignored until
    the backend is set again. The backend opens a new bus connection from the
    environment on every call, so it follows later changes of the address.
    """
    import keyring
    import keyring.core

    backend = keyring.core.load_keyring(KEYRING_BACKEND)
    keyring.set_keyring(backend)
    return backend


def reset_keyring_backend() -> KeyringBackend:
    """Let ``keyring`` choose its backend again from the current environment."""
    import keyring
    import keyring.backends.fail
    import keyring.core

    try:
        keyring.core.init_backend()
    except RuntimeError:
        # keyring's detection can itself raise when PYTHON_KEYRING_BACKEND names
        # SecretService and the bus is gone (as after stop()): nothing works then.
        keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    return keyring.get_keyring()


class SecretServiceKeyring(Background["SecretServiceKeyring"]):
    """A gnome-keyring Secret Service on a private session bus, for tests.

    ``start()`` (or ``with``) brings it up and waits until the default
    collection answers unlocked; ``stop()`` stops both daemons by PID and
    removes the folder. ``env`` holds what a client needs to reach it;
    ``apply_env()`` puts that into ``os.environ`` (and points ``keyring`` at
    it), ``restore_env()`` undoes that.

    For error tests: ``lock()`` locks the default collection (``keyring`` then
    raises ``KeyringLocked``), ``kill_daemon()`` kills the keyring daemon but
    keeps the bus (``keyring`` then raises ``InitError``). ``restart_daemon()``
    brings the daemon back, unlocked, with the items stored so far.
    """

    def __init__(self, *, ready_timeout: float = 15.0) -> None:
        self.ready_timeout = ready_timeout
        # A fresh password per harness: nothing outside the harness needs it,
        # and it is never shown.
        self._password = secrets.token_urlsafe(16)
        self._dir: Path | None = None
        self._bus_address: str | None = None
        self._dbus: subprocess.Popen[bytes] | None = None
        self._daemon: subprocess.Popen[bytes] | None = None
        self._saved_env: dict[str, str | None] | None = None

    def __repr__(self) -> str:
        state = f"dir={str(self._dir)!r}" if self._dir else "stopped"
        return f"<SecretServiceKeyring {state}>"

    # --- lifetime ----------------------------------------------------------

    def start(self) -> SecretServiceKeyring:
        """Start the bus and the keyring daemon; return once the keyring is unlocked."""
        if self._dir is not None:
            raise KeyringHarnessError("This SecretServiceKeyring is already started.")
        missing = missing_binaries()
        if missing:
            packages = " ".join(missing_packages())
            raise KeyringHarnessError(
                f"Cannot start the Secret Service keyring: {', '.join(missing)} not found "
                f"on PATH; install the Debian package(s) {packages} "
                f"(`{APT_INSTALL_COMMAND}`)."
            )
        self._dir = self._make_dir()
        _RUNNING.add(self)
        try:
            self._start_bus()
            self._start_daemon()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both daemons by PID, restore the environment if applied, remove the folder."""
        if self._saved_env is not None:
            self.restore_env()
        for process in (self._daemon, self._dbus):
            if process is not None:
                _terminate(process)
        self._daemon = None
        self._dbus = None
        self._bus_address = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        _RUNNING.discard(self)

    # --- what clients need -------------------------------------------------

    @property
    def dir(self) -> Path:
        """The private folder (mode 700) holding the bus socket and the keyring files."""
        if self._dir is None:
            raise KeyringHarnessError("The SecretServiceKeyring is not started.")
        return self._dir

    @property
    def bus_address(self) -> str:
        """The D-Bus address of the private session bus."""
        if self._bus_address is None:
            raise KeyringHarnessError("The SecretServiceKeyring is not started.")
        return self._bus_address

    @property
    def dbus_pid(self) -> int | None:
        return self._dbus.pid if self._dbus is not None else None

    @property
    def daemon_pid(self) -> int | None:
        return self._daemon.pid if self._daemon is not None else None

    @property
    def env(self) -> dict[str, str]:
        """The variables a process needs to use this keyring through ``keyring``."""
        return {
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
            **self._xdg_env(),
        }

    def apply_env(self) -> None:
        """Put ``env`` into ``os.environ`` and make ``keyring`` use this keyring."""
        env = self.env
        if self._saved_env is None:
            self._saved_env = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        use_secret_service_backend()

    def restore_env(self) -> None:
        """Undo ``apply_env()``: the previous values, and a backend chosen from them."""
        if self._saved_env is None:
            return
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = None
        reset_keyring_backend()

    # --- state, and breaking it on purpose ---------------------------------

    def is_ready(self) -> bool:
        """True when the keyring daemon answers and its default collection is unlocked."""
        return self._default_collection_locked() is False

    def is_locked(self) -> bool:
        """True when the default collection is locked; an error when nobody answers."""
        locked = self._default_collection_locked()
        if locked is None:
            raise KeyringHarnessError("The keyring daemon does not answer on the private bus.")
        return locked

    def lock(self) -> None:
        """Lock the default collection: ``keyring`` calls then raise ``KeyringLocked``.

        Unlocking needs a password prompt, which a headless machine cannot
        show: ``restart_daemon()`` (or ``ensure_ready()``) unlocks it again.
        """
        import secretstorage

        with self._connection() as connection:
            secretstorage.Collection(connection).lock()
        if not self.is_locked():
            raise KeyringHarnessError("The default collection did not lock.")

    def kill_daemon(self) -> None:
        """Kill the keyring daemon, keeping the bus: ``keyring`` then raises ``InitError``."""
        if self._daemon is not None:
            self._daemon.kill()
            self._daemon.wait()

    def restart_daemon(self) -> None:
        """Start the keyring daemon again: unlocked, with the items stored before."""
        if self._daemon is not None:
            _terminate(self._daemon)
            self._daemon = None
        self._start_daemon()

    def ensure_ready(self) -> None:
        """Restart the keyring daemon if a test killed it or locked its collection."""
        if not self.is_ready():
            self.restart_daemon()

    # --- items (attributes only: secrets are never returned) ---------------

    def item_attributes(self, service: str | None = None) -> list[dict[str, str]]:
        """The attributes of every stored item, or of those stored for ``service``.

        ``keyring`` stores ``service``, ``username`` and ``application``.
        Reaches the harness's own bus, whatever ``os.environ`` says now.
        """
        import secretstorage

        with self._connection() as connection:
            collection = secretstorage.Collection(connection)
            items = (
                collection.get_all_items()
                if service is None
                else collection.search_items({"service": service})
            )
            return [dict(item.get_attributes()) for item in items]

    def delete_items(self, service: str) -> int:
        """Delete every item stored for ``service``; return how many were deleted."""
        import secretstorage

        with self._connection() as connection:
            collection = secretstorage.Collection(connection)
            items = list(collection.search_items({"service": service}))
            for item in items:
                item.delete()
            return len(items)

    # --- internals ---------------------------------------------------------

    @staticmethod
    def _make_dir() -> Path:
        parent = tempfile.gettempdir()
        if len(parent) > _MAX_DIR_LENGTH - 20:
            parent = "/tmp"
        path = Path(tempfile.mkdtemp(prefix="kfp-ss-", dir=parent))
        path.chmod(0o700)
        if len(str(path)) > _MAX_DIR_LENGTH:
            shutil.rmtree(path, ignore_errors=True)
            raise KeyringHarnessError(
                f"The temporary folder {path} is too long for a unix socket path; "
                "set TMPDIR to a shorter folder such as /tmp."
            )
        for name in ("runtime", "data", "cache", "config", "home"):
            (path / name).mkdir(mode=0o700)
        return path

    def _xdg_env(self) -> dict[str, str]:
        return {
            "XDG_RUNTIME_DIR": str(self.dir / "runtime"),
            "XDG_DATA_HOME": str(self.dir / "data"),
            "XDG_CACHE_HOME": str(self.dir / "cache"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
        }

    def _log(self, name: str) -> IO[bytes]:
        return (self.dir / f"{name}.log").open("ab")

    def _read_log(self, name: str) -> str:
        try:
            text = (self.dir / f"{name}.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f" Its output: {text[-2000:]}" if text else ""

    def _start_bus(self) -> None:
        config = self.dir / "bus.conf"
        # Our own config, not the stock session one: that one activates
        # services on demand, and would start a second, locked keyring daemon
        # that writes under $HOME.
        config.write_text(
            "<!DOCTYPE busconfig PUBLIC"
            ' "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig>\n"
            "  <type>session</type>\n"
            f"  <listen>unix:path={escape(str(self.dir / 'bus'))}</listen>\n"
            "  <auth>EXTERNAL</auth>\n"
            '  <policy context="default">\n'
            '    <allow send_destination="*" eavesdrop="true"/>\n'
            '    <allow eavesdrop="true"/>\n'
            '    <allow own="*"/>\n'
            "  </policy>\n"
            "</busconfig>\n"
        )
        read_end, write_end = os.pipe()
        try:
            with self._log("dbus-daemon") as log:
                self._dbus = subprocess.Popen(
                    [
                        "dbus-daemon",
                        f"--config-file={config}",
                        "--nofork",
                        "--nopidfile",
                        # The daemon writes its address to this descriptor
                        # once it listens: no polling for the socket file.
                        f"--print-address={write_end}",
                    ],
                    pass_fds=(write_end,),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._daemon_env(bus_address=None),
                )
        finally:
            os.close(write_end)
        try:
            self._bus_address = self._read_address(read_end, self._dbus)
        finally:
            os.close(read_end)

    def _read_address(self, read_end: int, process: subprocess.Popen[bytes]) -> str:
        deadline = time.monotonic() + self.ready_timeout
        received = b""
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KeyringHarnessError(
                    f"dbus-daemon (pid {process.pid}) printed no address within "
                    f"{self.ready_timeout:g} s.{self._read_log('dbus-daemon')}"
                )
            readable, _, _ = select.select([read_end], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(read_end, 4096)
            if not chunk:
                raise KeyringHarnessError(
                    f"dbus-daemon exited with status {process.wait()} before printing its "
                    f"address.{self._read_log('dbus-daemon')}"
                )
            received += chunk
        return received.split(b"\n", 1)[0].decode().strip()

    def _daemon_env(self, bus_address: str | None) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            # Would point the daemon at another user session's keyring.
            if name not in ("GNOME_KEYRING_CONTROL", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.update(self._xdg_env())
        # gnome-keyring writes under the XDG folders; HOME is moved as well
        # so that nothing can fall back to the real one.
        env["HOME"] = str(self.dir / "home")
        if bus_address is not None:
            env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
        return env

    def _start_daemon(self) -> None:
        with self._log("gnome-keyring-daemon") as log:
            daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._daemon_env(bus_address=self.bus_address),
            )
        self._daemon = daemon
        assert daemon.stdin is not None
        # --unlock reads the password up to end of file.
        with contextlib.suppress(BrokenPipeError):
            daemon.stdin.write(self._password.encode())
        with contextlib.suppress(BrokenPipeError):
            daemon.stdin.close()
        self._wait_until_ready(daemon)

    def _wait_until_ready(self, daemon: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        delay = 0.01
        while True:
            if daemon.poll() is not None:
                raise KeyringHarnessError(
                    f"gnome-keyring-daemon exited with status {daemon.returncode} while "
                    f"starting.{self._read_log('gnome-keyring-daemon')}"
                )
            if self._default_collection_locked() is False:
                return
            if time.monotonic() > deadline:
                raise KeyringHarnessError(
                    f"gnome-keyring-daemon (pid {daemon.pid}) did not offer an unlocked "
                    f"default collection within {self.ready_timeout:g} s."
                    f"{self._read_log('gnome-keyring-daemon')}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _default_collection_locked(self) -> bool | None:
        """The default collection's Locked property; None when nobody answers."""
        if self._bus_address is None:
            return None
        try:
            result = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--reply-timeout=2000",
                    f"--dest={_SECRETS_BUS_NAME}",
                    _DEFAULT_COLLECTION,
                    "org.freedesktop.DBus.Properties.Get",
                    "string:org.freedesktop.Secret.Collection",
                    "string:Locked",
                ],
                env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": self._bus_address},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        if result.returncode != 0:
            return None
        if "boolean false" in result.stdout:
            return False
        if "boolean true" in result.stdout:
            return True
        return None

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        from jeepney.io.blocking import open_dbus_connection

        connection = open_dbus_connection(bus=self.bus_address)
        try:
            yield connection
        finally:
            connection.close()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Harnesses still running when the interpreter exits (a test run stopped
# half-way) are stopped then, so no daemon outlives the process that started it.
_RUNNING: set[SecretServiceKeyring] = set()


@atexit.register
def _stop_running_harnesses() -> None:
    for harness in list(_RUNNING):
        harness.stop()
