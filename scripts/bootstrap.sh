#!/usr/bin/env bash
# Installs what Ledgerbridge needs on a fresh Debian machine: missing Debian packages (when we are root
# or have sudo), a .venv with the Python dependencies, test tools included.
set -euo pipefail
cd "$(dirname "$0")/.."

need_debs=()
# chromium drives the browser tests (playwright uses the system browser; it cannot download its own here)
for pkg in unixodbc libsqliteodbc chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_debs+=("$pkg")
done
if [ ${#need_debs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
    if [ "$SUDO" = none ]; then
        echo "bootstrap: please install Debian packages: ${need_debs[*]}" >&2
    else
        echo "bootstrap: installing Debian packages: ${need_debs[*]}"
        $SUDO apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_debs[@]}" >/dev/null
    fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
echo "bootstrap: installing Python packages"
.venv/bin/python -m pip install -q --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install -q -e '.[test]'
echo "bootstrap: done"
