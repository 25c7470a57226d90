#!/usr/bin/env bash
# Installs the system packages the test suite needs, from Debian's packages:
#   libclang-dev  bindgen (feature c-ref) generates the C reference kernel's declarations
#   qemu-user     tests/cpu.rs runs the program on an emulated pre-AVX CPU
# As root it runs apt-get; otherwise through `sudo -n` when that works; otherwise it prints the
# exact command to run and exits with status 3. A plain `cargo build --release` needs none.
# NANOBRAGG_CI_DRY_RUN=1 prints what it would run instead of running it.
set -euo pipefail

missing=()
if ! ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so'; then missing+=(libclang-dev); fi
if ! command -v qemu-x86_64 >/dev/null 2>&1; then missing+=(qemu-user); fi
for pkg in "$@"; do
    # extra packages named by the caller as "command:package"
    cmd=${pkg%%:*}; deb=${pkg#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$deb")
done
if ((${#missing[@]} == 0)); then
    echo "system packages: all present"
    exit 0
fi

install="apt-get install -y -qq ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "nanobragg CI needs these Debian packages (or your system's equivalents): ${missing[*]}" >&2
    echo "apt-get was not found: install them with your package manager, then run .ci/run again" >&2
    exit 3
fi
if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "nanobragg CI needs these Debian packages: ${missing[*]}" >&2
    echo "run as root (or give this user passwordless sudo), or install them first:" >&2
    echo "    sudo apt-get update && sudo $install" >&2
    exit 3
fi
echo "installing: ${missing[*]}"
if [[ ${NANOBRAGG_CI_DRY_RUN:-} == 1 ]]; then
    echo "would run: ${sudo[*]} apt-get update -qq && ${sudo[*]} $install"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" $install >/dev/null
