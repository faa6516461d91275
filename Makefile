# Two commands do all the set-up on a fresh Debian or Ubuntu machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# evdev builds from source; python3-venv gives the virtual environment its pip.
RUN_PACKAGES := python3-venv python$(PYVER)-venv python3-dev gcc linux-libc-dev
# The keyboard-layouts extra (xkbcommon), the browser tests (Debian's Chromium), and the emulated
# devices: umockdev's preload library and typelib, and what PyGObject (the 'umockdev' extra) builds on.
TEST_PACKAGES := libxkbcommon-dev pkg-config chromium \
	umockdev gir1.2-umockdev-1.0 libgirepository1.0-dev libcairo2-dev
# Label printers: pycups builds against libcups2-dev; the CUPS tests start a private cupsd.
PRINT_EXTRAS := brother,cups
PRINT_PACKAGES := libcups2-dev
PRINT_TEST_PACKAGES := cups-daemon

.PHONY: run test install install-test system-packages clean

system-packages:
	@if command -v dpkg-query >/dev/null 2>&1; then scripts/ensure-debian-packages $(RUN_PACKAGES) $(PRINT_PACKAGES); fi

$(BIN)/station: pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(PRINT_EXTRAS)]'
	touch $@

$(VENV)/.test-installed: $(BIN)/station
	@if command -v dpkg-query >/dev/null 2>&1; then scripts/ensure-debian-packages $(TEST_PACKAGES); fi
	@if command -v dpkg-query >/dev/null 2>&1; then APT_INSTALL_OPTIONS=--no-install-recommends scripts/ensure-debian-packages $(PRINT_TEST_PACKAGES); fi
	$(BIN)/pip install --quiet -e '.[test,layouts,umockdev,$(PRINT_EXTRAS)]'
	touch $@

install: $(BIN)/station

install-test: $(VENV)/.test-installed

run: $(BIN)/station
	$(BIN)/station run

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
