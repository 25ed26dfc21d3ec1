#!/usr/bin/env bash
# Set up a fresh clone: a Python 3.12 virtualenv in .venv with the project and its dev tools.
# Idempotent: a second run only checks. Usage: bash scripts/bootstrap.sh
set -euo pipefail
cd "$(dirname "$0")/.."

find_python312() {
  for candidate in python3.12 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.12"*/bin/python3.12; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if ! command -v terraform >/dev/null 2>&1; then
  echo "error: Terraform is not on PATH: install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install) and retry." >&2
  exit 1
fi
PYTHON=$(find_python312) || { echo "error: Python 3.12 (the Lambda runtime) is needed: install it (e.g. pyenv install 3.12) and retry." >&2; exit 1; }

stamp=.venv/.installed
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
  echo "Creating .venv with $PYTHON and installing orderflow[dev] ..."
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  cp pyproject.toml "$stamp"
fi
# System packages from Debian's apt where this user may install them (root), one `apt-get update` for all; elsewhere
# a note says what to install. `install_with_apt WHAT HINT PACKAGE...`.
apt_updated=""
install_with_apt() {
  local what=$1 hint=$2; shift 2
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing $what ..."
    { [ -n "$apt_updated" ] || { apt-get update -qq && apt_updated=1; }; } && apt-get install -y -qq "$@" >/dev/null \
      || echo "warning: $what could not be installed; $hint: apt-get install $*" >&2
  else
    echo "note: $hint: install it (apt-get install $*)." >&2
  fi
}
# Graphviz `dot` draws the workflow diagrams (invoke diagram); nothing else needs it.
if ! command -v dot >/dev/null 2>&1; then
  install_with_apt "Graphviz (invoke diagram)" "invoke diagram needs Graphviz" graphviz
fi
# Chromium and its chromedriver: the console's browser tests (tests/e2e/test_17_console.py) drive Debian's headless
# Chromium; Selenium is given /usr/bin/chromedriver, so nothing is downloaded at run time (they skip without it).
if ! command -v chromium >/dev/null 2>&1 || [ ! -x /usr/bin/chromedriver ]; then
  install_with_apt "Chromium and chromedriver (the console's browser tests)" \
    "the console's browser tests need Chromium" chromium chromium-driver
fi
echo "Ready: .venv ($(.venv/bin/python --version)), $(terraform version 2>/dev/null | head -1), $(dot -V 2>&1 | head -1 || echo "no Graphviz"), $(chromium --version 2>/dev/null || echo "no Chromium")."
