#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite under one preset
# (default: release; `asan` for AddressSanitizer + UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
bash scripts/setup.sh
bash scripts/build.sh "$preset"
ctest --preset "$preset" -j 2
