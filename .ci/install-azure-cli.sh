#!/usr/bin/env bash
# Idempotently install the real Azure CLI (from PyPI) into a private virtualenv for
# credchain-azure-cli's real-CLI test suite.
#
# Usage:
#   .ci/install-azure-cli.sh            # installs (if needed) and prints the az path on stdout
#   export CREDCHAIN_REAL_AZ="$(.ci/install-azure-cli.sh)"
#   cargo test -p credchain-azure-cli --test suite real_az::
#
# Environment:
#   CREDCHAIN_AZ_VENV      venv directory (default: $HOME/.cache/credchain/az-venv)
#   CREDCHAIN_AZ_VERSION   pip requirement version pin, e.g. "2.91.0" (default: latest)
#   CREDCHAIN_PYTHON       interpreter used to create the venv (default: /usr/bin/python3, else python3)
#
# Progress goes to stderr; only the az path is printed on stdout. Takes 1-3 minutes on first run
# (about 730 MB in the venv), well under a second when already installed.
set -euo pipefail

venv="${CREDCHAIN_AZ_VENV:-$HOME/.cache/credchain/az-venv}"
version="${CREDCHAIN_AZ_VERSION:-}"
python="${CREDCHAIN_PYTHON:-}"
if [[ -z "$python" ]]; then
    if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python="$(command -v python3)"; fi
fi

az="$venv/bin/az"
requirement="azure-cli"
[[ -n "$version" ]] && requirement="azure-cli==$version"

installed_ok() {
    [[ -x "$az" ]] || return 1
    if [[ -n "$version" ]]; then
        "$venv/bin/python" -m pip show azure-cli 2>/dev/null | grep -qx "Version: $version" || return 1
    fi
    # A venv whose interpreter went away (e.g. python upgraded) must be rebuilt.
    "$venv/bin/python" -c 'import azure.cli.core' >/dev/null 2>&1
}

if installed_ok; then
    echo "azure-cli already installed in $venv" >&2
else
    echo "installing $requirement into $venv (1-3 minutes)..." >&2
    mkdir -p "$(dirname "$venv")"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        rm -rf "$venv"
        # Debian's python3 without python3-venv lacks ensurepip; say so clearly.
        if ! "$python" -m venv "$venv"; then
            echo "error: '$python -m venv' failed; on Debian/Ubuntu run 'apt-get install -y python3-venv'" >&2
            exit 1
        fi
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "$requirement" >&2
    installed_ok || { echo "error: azure-cli installation in $venv is not usable" >&2; exit 1; }
fi

# Sanity check that never touches the user's ~/.azure or ~/.cache.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
AZURE_CONFIG_DIR="$scratch/cfg" XDG_CACHE_HOME="$scratch/cache" AZURE_CORE_COLLECT_TELEMETRY=false \
    "$az" version --output tsv >/dev/null 2>&1 || { echo "error: '$az version' failed" >&2; exit 1; }

echo "$az"
