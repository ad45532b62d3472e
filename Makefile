# kfp-profiles: `make test` and `make demo` set everything up themselves.
# GNU make. The system packages (a real Secret Service keyring for the tests)
# are installed when this runs as root with apt-get; otherwise make says what
# to install and the keyring tests are skipped (under CI=true they fail).

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

# binary:Debian package, for what the keyring harness runs.
KEYRING_BINARIES := gnome-keyring-daemon:gnome-keyring dbus-daemon:dbus-daemon dbus-send:dbus-bin
KEYRING_PACKAGES := gnome-keyring dbus-daemon dbus-bin

STAMP := $(VENV)/.installed

export DEBIAN_FRONTEND := noninteractive

.PHONY: system-deps venv test lint demo bench clean

system-deps:
	@missing=""; packages=""; \
	for pair in $(KEYRING_BINARIES); do \
		binary=$${pair%%:*}; package=$${pair##*:}; \
		if ! command -v "$$binary" >/dev/null 2>&1; then \
			missing="$$missing $$binary"; packages="$$packages $$package"; \
		fi; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "==> system-deps: gnome-keyring-daemon, dbus-daemon and dbus-send are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "==> system-deps: missing$$missing; installing $(KEYRING_PACKAGES) with apt-get"; \
		apt-get update && \
		apt-get install -y --no-install-recommends $(KEYRING_PACKAGES); \
	else \
		echo "==> system-deps: missing$$missing; cannot install them here (needs root and apt-get)."; \
		echo "    Install the Debian package(s)$$packages, e.g.:"; \
		echo "      sudo apt-get install -y --no-install-recommends$$packages"; \
		echo "    Until then the keyring tests are skipped (with CI=true they fail)."; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "==> $(PYTHON) cannot create virtualenvs: installing python3-venv with apt-get"; \
			apt-get update && apt-get install -y --no-install-recommends python3-venv; \
		else \
			echo "$(PYTHON) cannot create virtualenvs: install python3-venv (sudo apt-get install python3-venv)." >&2; \
			exit 1; \
		fi; \
	fi
	@echo "==> Creating the virtualenv $(VENV) with $(PYTHON) and installing kfp-profiles[test]"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $@

test: system-deps $(STAMP)
	@echo "==> Running the tests"
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Runs all three, so one run shows every finding; fails if any failed.
lint: $(STAMP)
	@status=0; \
	echo "==> mypy --strict"; $(VENV)/bin/mypy --strict || status=1; \
	echo "==> ruff check ."; $(VENV)/bin/ruff check . || status=1; \
	echo "==> ruff format --check ."; $(VENV)/bin/ruff format --check . || status=1; \
	exit $$status

demo: system-deps $(STAMP)
	@echo "==> Running the demo against the embedded emulator"
	$(VENV)/bin/python examples/demo.py

# Benchmarks print numbers; they assert nothing.
bench: $(STAMP)
	@for script in benchmarks/*.py; do \
		echo "==> $$script"; \
		$(VENV)/bin/python "$$script" || exit 1; \
	done

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
