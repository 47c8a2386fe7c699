#!/usr/bin/env bash
# Create (idempotently) the Python venv that runs the SDK contract tests in tests/contract/.
#
#   scripts/contract-venv.sh              # create/update ${ACSEMU_VENV:-.venv-contract}
#   scripts/contract-venv.sh --refreeze   # reinstall from requirements.txt alone and rewrite
#                                         # tests/contract/constraints.txt (the transitive pins)
#
# The official SDK versions are pinned in tests/contract/requirements.txt; every transitive
# dependency is pinned in tests/contract/constraints.txt so two machines install the same set.
# Reinstall is skipped when neither file changed since the last successful install (hash stamp
# inside the venv). Paths are relative to the repository root, whatever the caller's cwd.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="${ACSEMU_VENV:-.venv-contract}"
req="tests/contract/requirements.txt"
cons="tests/contract/constraints.txt"
python="${PYTHON:-python3}"
refreeze=0
if [[ "${1:-}" == "--refreeze" ]]; then
    refreeze=1
fi

if [[ $refreeze -eq 1 ]]; then
    rm -rf "$venv"
fi
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "contract-venv: creating $venv with $("$python" --version 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

stamp="$venv/.acsemu-requirements.sha256"
want="$(cat "$req" "$cons" | sha256sum | cut -d' ' -f1)"
if [[ $refreeze -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
if [[ $refreeze -eq 1 ]]; then
    echo "contract-venv: fresh install of $req to regenerate $cons"
    "${pip[@]}" install -q -r "$req"
    pinned="$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$req" | tr 'A-Z_' 'a-z-' | paste -sd'|')"
    {
        echo "# Transitive pins for tests/contract/requirements.txt (pip freeze of a fresh install, Python 3.11)."
        echo "# Regenerate: scripts/contract-venv.sh --refreeze"
        "${pip[@]}" freeze --exclude-editable | grep -v -i -E "^($pinned)==" || true
    } >"$cons"
    want="$(cat "$req" "$cons" | sha256sum | cut -d' ' -f1)"
else
    echo "contract-venv: installing $req (constraints $cons) into $venv"
    "${pip[@]}" install -q -r "$req" -c "$cons"
fi
echo "$want" >"$stamp"
