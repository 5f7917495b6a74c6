#!/usr/bin/env bash
# Runs a command with a real, unlocked freedesktop Secret Service (gnome-keyring) on a private
# D-Bus session bus, for credchain-vscode's Secret Service tests.
#
# Usage:
#   .ci/with-secret-service.sh cargo test -p credchain-vscode --test suite secret_service::
#   .ci/with-secret-service.sh cargo test -p credchain-vscode      # the whole crate
#
# What it does (idempotent; safe to run again):
#   1. installs `gnome-keyring` and `libsecret-tools` (and `dbus-bin` for dbus-run-session) with
#      apt-get when they are missing (needs root, as on CI);
#   2. makes a temporary HOME and XDG_RUNTIME_DIR, so the keyring files never touch the real
#      home (CARGO_HOME and RUSTUP_HOME keep pointing at the real toolchain);
#   3. inside `dbus-run-session`, starts gnome-keyring-daemon and unlocks its login keyring with a
#      throw-away, NON-EMPTY password (an empty one makes the daemon ask a GUI prompter and fail);
#   4. runs the command with CREDCHAIN_SECRET_SERVICE=1, which un-skips the tests, and
#      DBUS_SESSION_BUS_ADDRESS pointing at the private bus; its exit code is this script's.
# The bus, the daemon and the temporary directories go away when the command ends.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

need=()
command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)
command -v secret-tool >/dev/null 2>&1 || need+=(libsecret-tools)
command -v dbus-run-session >/dev/null 2>&1 || need+=(dbus-bin)
if [[ ${#need[@]} -gt 0 ]]; then
    echo "with-secret-service: installing ${need[*]}" >&2
    sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >&2
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# Keep the toolchain where it is before HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

scratch="$(mktemp -d -t credchain-secret-service.XXXXXX)"
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT
mkdir -p "$scratch/home" "$scratch/runtime"
chmod 700 "$scratch/runtime"
export HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/runtime"
unset XDG_DATA_HOME XDG_CONFIG_HOME GNOME_KEYRING_CONTROL

# The password only protects a keyring that lives for this one run.
export CREDCHAIN_KEYRING_PASSWORD="credchain-test-$$-$RANDOM"
export CREDCHAIN_SECRET_SERVICE=1

# (dbus-run-session prints a harmless "Failed to set fd limit" warning; it is not filtered
# through a pipe, because a pipe reader that dies would kill the command with SIGPIPE.)
set +e
dbus-run-session -- bash -c '
    set -euo pipefail
    printf %s "$CREDCHAIN_KEYRING_PASSWORD" \
        | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    unset CREDCHAIN_KEYRING_PASSWORD
    exec "$@"
' with-secret-service "$@"
status=$?
set -e
exit "$status"
