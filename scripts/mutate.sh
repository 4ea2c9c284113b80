#!/usr/bin/env bash
# Mutation testing of the modules that move money (cosmic-ray): each mutant (a flipped
# comparison, a changed constant, a removed `not`, ...) is run against the tests that cover
# its module; a mutant the tests do not notice ("survived") marks a behaviour no test checks.
#
#   scripts/mutate.sh                      every module below, against its tests
#   scripts/mutate.sh payments/ledger.py   one of them
#
# Mutants are written into a throwaway git worktree of HEAD, never into this checkout, so
# an interrupted run leaves nothing mutated behind. Prints each module's survivors as diffs.
# Some survivors are equivalent mutants (`==` to `is` on interned strings, changes inside
# type annotations): read them, do not count them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# module -> the tests that cover it (fast ones; the whole suite would take hours)
declare -A TESTS=(
    [payments/ledger.py]="tests/payments/test_ledger.py tests/payments/test_ledger_concurrency.py tests/payments/test_gate_balance.py tests/payments/test_escrow.py"
    [payments/settlements.py]="tests/payments/test_settlements.py tests/payments/test_gate_x402.py tests/payments/test_hostile_facilitator.py tests/payments/test_escrow.py"
    [payments/escrow.py]="tests/payments/test_escrow.py tests/payments/test_gate_escrow.py"
    [payments/reconcile.py]="tests/payments/test_escrow.py tests/payments/test_settlements.py"
)
MODULES=("$@")
[ ${#MODULES[@]} -gt 0 ] || MODULES=(payments/ledger.py payments/settlements.py payments/escrow.py payments/reconcile.py)

WORK=$(mktemp -d)
cleanup() {
    git -C "$ROOT" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
git worktree add --quiet --detach "$WORK/tree" HEAD
ln -s "$ROOT/node_modules" "$WORK/tree/node_modules"

for module in "${MODULES[@]}"; do
    tests=${TESTS[$module]:?"no tests are listed for $module in scripts/mutate.sh"}
    name=$(basename "$module" .py)
    cat > "$WORK/$name.toml" <<EOF
[cosmic-ray]
module-path = "$module"
timeout = 300.0
excluded-modules = []
test-command = "$ROOT/.venv/bin/python -m pytest -q -x -p no:cacheprovider $tests"

[cosmic-ray.distributor]
name = "local"
EOF
    (
        cd "$WORK/tree"
        # The tests must pass unmutated first: otherwise every mutant counts as killed.
        "$ROOT/.venv/bin/cosmic-ray" baseline "$WORK/$name.toml" ||
            { echo "the tests of $module fail without any mutation; fix them first" >&2; exit 1; }
        "$ROOT/.venv/bin/cosmic-ray" init "$WORK/$name.toml" "$WORK/$name.sqlite"
        "$ROOT/.venv/bin/cosmic-ray" exec "$WORK/$name.toml" "$WORK/$name.sqlite"
    )
    echo "== $module"
    "$ROOT/.venv/bin/cr-report" --show-diff --surviving-only "$WORK/$name.sqlite"
done
