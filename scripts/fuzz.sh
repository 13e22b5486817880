#!/usr/bin/env bash
# Fuzzes the env parser, the manifest validator and the router with libFuzzer
# (test/fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   TARGET: env_file manifest router config_source
#
# Builds build-fuzz/fuzz_<target> with clang (ASan + UBSan), runs each target for the given
# time (default 60 s) on test/fuzz/corpus/<target>/, then minimises that corpus with
# -merge=1: files named seed-* (hand-written seeds, regression inputs) are always kept.
# Crash, leak and timeout inputs go to build-fuzz/artifacts/<target>/. Prints per target the
# time, executions, corpus size and crash inputs; exits 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(env_file manifest router config_source)

# The targets compile only CAF-free sources: Debian's libcaf is built with g++ and crashes
# when called from clang-built code.
declare -A sources=(
  [env_file]="config/env_file.cpp config/settings.cpp"
  [manifest]="config/manifest.cpp config/settings.cpp config/env_file.cpp http/router.cpp
              http/method.cpp http/request.cpp services/catalog.cpp services/static_kind.cpp
              services/echo_kind.cpp services/request_schema.cpp services/dial_test_kind.cpp
              util/utf8.cpp"
  [router]="http/router.cpp http/method.cpp"
  [config_source]="config/etcd.cpp config/polaris.cpp config/env_file.cpp config/settings.cpp
                   util/base64.cpp util/url.cpp util/utf8.cpp"
)
declare -A max_len=([env_file]=4096 [manifest]=8192 [router]=4096 [config_source]=8192)
for target in "${targets[@]}"; do
  [ -n "${sources[$target]:-}" ] || { echo "fuzz.sh: unknown target $target" >&2; exit 2; }
done

missing=()
for package in clang libclang-rt-14-dev; do
  dpkg -s "$package" 2>/dev/null | grep -q "^Status: install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz.sh: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

out=build-fuzz
mkdir -p "$out"
# Two runs would share the corpus: a merge fails on inputs the other fuzzer deletes.
exec 9>"$out/.lock"
flock -n 9 || { echo "fuzz.sh: another fuzz.sh is running (lock $out/.lock)" >&2; exit 1; }
cxx=(clang++)
command -v ccache >/dev/null && cxx=(ccache clang++)
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Wall -Wextra)
# One object per source, so that ccache can answer for the unchanged ones.
object() { echo "$out/obj/${1//\//_}.o"; }
mkdir -p "$out/obj"
for target in "${targets[@]}"; do
  echo "fuzz.sh: building $out/fuzz_$target" >&2
  objects=()
  for source in "test/fuzz/fuzz_$target.cpp" ${sources[$target]}; do
    "${cxx[@]}" "${flags[@]}" -c -o "$(object "$source")" "$source"
    objects+=("$(object "$source")")
  done
  clang++ "${flags[@]}" -o "$out/fuzz_$target" "${objects[@]}"
done

# UB is fatal like a crash; suppressions only work for checks that may recover, hence
# halt_on_error rather than -fno-sanitize-recover.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$PWD/test/fuzz/ubsan.supp
status=0
summary=()
for target in "${targets[@]}"; do
  corpus=test/fuzz/corpus/$target
  artifacts=$out/artifacts/$target/
  log=$out/$target.log
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz.sh: fuzzing $target for ${seconds}s (log: $log)" >&2
  start=$(date +%s)
  # Every run, the merge included, writes crash inputs under $artifacts: libFuzzer's default
  # is the current directory.
  common=(-timeout=2 -rss_limit_mb=2048 -artifact_prefix="$artifacts")
  "$out/fuzz_$target" "${common[@]}" -max_total_time="$seconds" -max_len="${max_len[$target]}" \
    -dict="test/fuzz/$target.dict" -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=1
  ran=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)

  # Minimise: keep the seeds, add only the inputs that bring new coverage on top of them.
  merged=$(mktemp -d)
  find "$corpus" -maxdepth 1 -type f -name 'seed-*' -exec cp {} "$merged" \;
  "$out/fuzz_$target" "${common[@]}" -merge=1 "$merged" "$corpus" >>"$log" 2>&1
  find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
  cp "$merged"/* "$corpus"/
  rm -rf "$merged"

  # Crash, leak, timeout and out-of-memory inputs, of the run and of the merge.
  found=$(sed -n 's/.*Test unit written to //p' "$log")
  crashes=$(printf '%s' "$found" | grep -c . || true)
  [ "$crashes" -eq 0 ] || status=1
  files=$(find "$corpus" -type f | wc -l)
  kib=$(($(cat "$corpus"/* | wc -c) / 1024))
  summary+=("$(printf '%-9s %6ss %12s %6s %7s %7s  %s' "$target" "$ran" "${execs:-?}" "$files" \
                      "$kib" "$crashes" "${found//$'\n'/ }")")
done

echo
printf '%-9s %7s %12s %6s %7s %7s  %s\n' target time execs files KiB crashes inputs
printf '%s\n' "${summary[@]}"
[ $status -eq 0 ] || echo "fuzz.sh: failures; see $out/<target>.log" >&2
exit $status
