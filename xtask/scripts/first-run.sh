#!/usr/bin/env bash
# Times the README's first command (`cargo xtask run`) as a newcomer meets it:
# a fresh clone (no target/), an empty CARGO_HOME (no registry cache, no
# trunk, no wasm-bindgen-cli) and an empty npm prefix (no wasm-opt). The clock
# stops when the web client's page answers; then the server is stopped with
# Ctrl-C. Prints the wall time to the page and the CPU time (user + system)
# of every process the run started, which the machine's other load does not
# change much. A wasm-opt already installed system-wide (npm's global
# binaryen in /usr/bin) is found and used. Everything it makes is under one temporary folder, removed at
# the end unless KEEP=1.
#
#   xtask/scripts/first-run.sh            # the branch checked out now
#   REV=abc123 xtask/scripts/first-run.sh # any commit
set -euo pipefail
repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
rustup_bin=$(dirname "$(command -v rustup)")
work=$(mktemp -d /tmp/hubbub-first-run.XXXXXX)
port=${PORT:-18080}
git clone --quiet "$repo" "$work/clone"
git -C "$work/clone" checkout --quiet "${REV:-HEAD}"
export CARGO_HOME="$work/cargo" NPM_CONFIG_PREFIX="$work/npm"
# rustup's own directory may hold tools installed since (wasm-bindgen):
# only its proxies come along.
mkdir -p "$work/rustup-bin"
for proxy in rustup cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
    ln -s "$rustup_bin/$proxy" "$work/rustup-bin/$proxy"
done
export PATH="$CARGO_HOME/bin:$NPM_CONFIG_PREFIX/bin:$work/rustup-bin:/usr/local/bin:/usr/bin:/bin"
cd "$work/clone"
echo "first run of $(git rev-parse --short HEAD) in $work (log: $work/run.log)"
started=$(date +%s)
# GNU time ignores the Ctrl-C below, waits for the run to end and reports.
setsid /usr/bin/time -o "$work/cpu" -f '%U %S' \
    cargo xtask run -- --http "127.0.0.1:$port" --tcp 127.0.0.1:0 --udp 127.0.0.1:0 \
    --irc 127.0.0.1:0 --data-dir "$work/data" \
    >"$work/run.log" 2>&1 &
leader=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/"; do
    if ! kill -0 "$leader" 2>/dev/null; then
        tail -n 30 "$work/run.log"
        echo "the first run ended before the page answered" >&2
        exit 1
    fi
    sleep 1
done
wall=$(($(date +%s) - started))
kill -INT -- "-$leader"
wait "$leader" || true
read -r user sys <"$work/cpu"
printf 'page answered after %dm%02ds wall; CPU %.0f s user + %.0f s system\n' \
    $((wall / 60)) $((wall % 60)) "$user" "$sys"
grep -E '^installing|^trunk|^wasm-bindgen' "$work/run.log" || true
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
