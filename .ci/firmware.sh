#!/usr/bin/env bash
# Firmware end to end: build the QEMU firmware example, run it on an emulated Cortex-M3
# (lm3s6965evb), capture UART0, decode the stream on the host and check the decoded events,
# then check with `raceway bridge --check` that the unguarded counter races and the guarded one
# does not.
# Also checks that core + the UART encoder build for a target without compare-and-swap.
#
# Runs as root on a fresh Debian machine with rustup; installs what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
out="$CARGO_TARGET_DIR/firmware-qemu"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "tools"
missing=()
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v arm-none-eabi-size >/dev/null || missing+=(binutils-arm-none-eabi)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rustup target add thumbv6m-none-eabi thumbv7m-none-eabi >/dev/null
qemu-system-arm --version | head -n1

step "core + UART encoder build for thumbv6m-none-eabi (no compare-and-swap)"
cargo build --release -p raceway-core -p raceway-transport-uart --no-default-features \
    --target thumbv6m-none-eabi

step "firmware (release, with and without Raceway)"
fw="$root/examples/firmware-qemu"
elf="$CARGO_TARGET_DIR/thumbv7m-none-eabi/release/raceway-firmware-qemu"
(cd "$fw" && cargo build --release --no-default-features)
cp "$elf" "$out/firmware-without-raceway.elf"
(cd "$fw" && cargo build --release)
cp "$elf" "$out/firmware.elf"
arm-none-eabi-size "$out/firmware-without-raceway.elf" "$out/firmware.elf"
flash() { arm-none-eabi-size -A "$1" | awk '/^\.(vector_table|text|rodata|data) /{s+=$2} END{print s}'; }
ram() { arm-none-eabi-size -A "$1" | awk '/^\.(data|bss|uninit) /{s+=$2} END{print s}'; }
with_flash=$(flash "$out/firmware.elf"); without_flash=$(flash "$out/firmware-without-raceway.elf")
with_ram=$(ram "$out/firmware.elf"); without_ram=$(ram "$out/firmware-without-raceway.elf")
echo "flash: $without_flash -> $with_flash bytes (Raceway: $((with_flash - without_flash)))"
echo "RAM:   $without_ram -> $with_ram bytes (Raceway: $((with_ram - without_ram)))"

step "run under QEMU (UART0 -> $out/uart0.bin)"
rm -f "$out/uart0.bin"
timeout 60 qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic -monitor none \
    -semihosting-config enable=on,target=native \
    -serial "file:$out/uart0.bin" -kernel "$out/firmware.elf"
test -s "$out/uart0.bin" || { echo "FAIL: nothing on UART0"; exit 1; }

step "decode and check"
cargo run --quiet -p raceway-transport-uart --features std --example decode -- \
    "$out/uart0.bin" --quiet --frame-sizes \
    --expect-threads 2 \
    --expect-shared racy --expect-shared guarded \
    --expect-lock critical_section \
    --max-skipped 0

step "raceway bridge --check: a race on racy, none on guarded"
cargo build --quiet -p raceway-cli
status=0
# No RACEWAY_URL from the environment: this step analyzes only, it forwards nothing.
env -u RACEWAY_URL -u RACEWAY_API_KEY "$CARGO_TARGET_DIR/debug/raceway" bridge \
    --input "$out/uart0.bin" --check --quiet --save "$out/uart0.rwcap" >"$out/report.txt" \
    || status=$?
cat "$out/report.txt"
test "$status" -eq 1 || { echo "FAIL: raceway bridge --check exited $status, expected 1 (races found)"; exit 1; }
grep -q 'race on `racy`' "$out/report.txt" || { echo "FAIL: no race reported on racy"; exit 1; }
if grep -q 'race on `guarded`' "$out/report.txt"; then
    echo "FAIL: a race reported on guarded, which a critical section protects"; exit 1
fi
"$CARGO_TARGET_DIR/debug/raceway" check "$out/uart0.rwcap" >/dev/null && status=0 || status=$?
test "$status" -eq 1 || { echo "FAIL: raceway check on the saved capture exited $status, expected 1"; exit 1; }
echo "firmware: 1 passed, 0 failed"
