#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang 14, ASan + UBSan) and runs
# each for SECONDS (default 60), one after the other.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   targets: framer_fuzz request_fuzz chat_state_fuzz (default: all three)
#
# Each target works on build/fuzz/corpus/<target>, seeded from the repository's
# test/fuzz/corpus/<target> (which this script never writes to), and keeps what
# it finds there for the next run. Extra libFuzzer flags can be passed in
# FUZZ_FLAGS (e.g. FUZZ_FLAGS="-jobs=2 -workers=2"). Exits nonzero if any
# target crashes or breaks an invariant; the crash input is left in
# build/fuzz/crashes/ and its path is printed. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(framer_fuzz request_fuzz chat_state_fuzz)

bash scripts/setup.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"

# Symbolized reports; any sanitizer finding ends the run with a crash file.
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

crashes=build/fuzz/crashes
mkdir -p "$crashes"
failed=()
for target in "${targets[@]}"; do
  binary="build/fuzz/bin/$target"
  seeds="test/fuzz/corpus/$target"
  corpus="build/fuzz/corpus/$target"
  if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
    echo "fuzz: unknown target $target" >&2
    exit 2
  fi
  mkdir -p "$corpus"
  before="$(ls -1 "$crashes")"
  flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1
         -artifact_prefix="$crashes/$target-")
  case "$target" in
    request_fuzz) flags+=(-dict=test/fuzz/protocol.dict -max_len=4096) ;;
    # Entropic scheduling costs this target more than half its speed (measured).
    chat_state_fuzz) flags+=(-dict=test/fuzz/protocol.dict -max_len=2048 -entropic=0) ;;
    framer_fuzz) flags+=(-max_len=1024) ;;
  esac
  echo "== fuzz: $target for ${seconds}s (corpus $corpus)"
  # New inputs go to the first directory only: the repository's seeds stay as they are.
  # shellcheck disable=SC2086
  if "$binary" "${flags[@]}" ${FUZZ_FLAGS:-} "$corpus" "$seeds"; then
    echo "== fuzz: $target: no crash"
  else
    status=$?
    echo "== fuzz: $target FAILED (exit $status); crash input(s):" >&2
    comm -13 <(echo "$before") <(ls -1 "$crashes") | sed "s|^|  $crashes/|" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (reproduce: build/fuzz/bin/<target> <crash file>)" >&2
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash"
