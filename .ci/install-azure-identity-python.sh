#!/usr/bin/env bash
# Idempotently install Python azure-identity (from PyPI) into a private virtualenv, for the
# `credchain serve` interop test (its ManagedIdentityCredential gets a token from a running serve).
#
# Usage:
#   export CREDCHAIN_PYTHON_AZURE_IDENTITY="$(.ci/install-azure-identity-python.sh)"
#   cargo test --test suite serve::python_azure_identity
#
# Environment:
#   CREDCHAIN_AZID_VENV     venv directory (default: $HOME/.cache/credchain/azure-identity-venv)
#   CREDCHAIN_AZID_VERSION  pip version pin, e.g. "1.25.1" (default: latest)
#   CREDCHAIN_PYTHON        interpreter used to create the venv (default: /usr/bin/python3, else python3)
#
# Progress goes to stderr; only the venv's python path is printed on stdout.
set -euo pipefail

venv="${CREDCHAIN_AZID_VENV:-$HOME/.cache/credchain/azure-identity-venv}"
version="${CREDCHAIN_AZID_VERSION:-}"
python="${CREDCHAIN_PYTHON:-}"
if [[ -z "$python" ]]; then
    if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python="$(command -v python3)"; fi
fi
requirement="azure-identity"
[[ -n "$version" ]] && requirement="azure-identity==$version"

installed_ok() {
    [[ -x "$venv/bin/python" ]] || return 1
    if [[ -n "$version" ]]; then
        "$venv/bin/python" -m pip show azure-identity 2>/dev/null | grep -qx "Version: $version" || return 1
    fi
    "$venv/bin/python" -c 'import azure.identity' >/dev/null 2>&1
}

if installed_ok; then
    echo "azure-identity already installed in $venv" >&2
else
    echo "installing $requirement into $venv..." >&2
    mkdir -p "$(dirname "$venv")"
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "error: '$python -m venv' failed; on Debian/Ubuntu run 'apt-get install -y python3-venv'" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "$requirement" >&2
    installed_ok || { echo "error: azure-identity installation in $venv is not usable" >&2; exit 1; }
fi

echo "$venv/bin/python"
