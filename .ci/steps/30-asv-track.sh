#!/usr/bin/env bash
# asv tracking: a fast subset of the benchmarks, one per layer, run for the
# baseline commit (asv_benchmarks/BASELINE) and for HEAD in this same run on
# this same machine; the comparison table is printed either way, and the
# step fails when a subset benchmark got slower than the baseline by more
# than FACTOR (asv compare's "+": beyond the factor and statistically
# significant) or started failing ("!"). Then `asv publish` writes the HTML.
#
# Both legs use HEAD's benchmark files (copied to a scratch benchmark dir,
# so a benchmark file that needs an API the baseline lacks cannot break the
# baseline's discovery) and one and the same python path: asv names an
# existing environment after its interpreter path, and only results of the
# same environment are compared, so that path is a symlink pointed first at
# a venv with the baseline installed, then at CI's venv with HEAD.
#
# Inputs (from .ci/run): ROOT, PY, VPY, WORK. Knobs:
#   ASV_TRACK_FACTOR     failing slow-down factor (default 2.0; measured noise in README)
#   ASV_TRACK_BASELINE   a commit to compare against instead of BASELINE's
#   ASV_TRACK_SELF=1     noise check: the baseline leg installs HEAD's tree
#                        (same code twice, so every ratio is pure noise)
#   ASV_TRACK_OUT        where results and HTML go (default $ROOT/.asv/track)
set -euo pipefail

: "${ROOT:?}" "${PY:?}" "${VPY:?}" "${WORK:?}"
FACTOR=${ASV_TRACK_FACTOR:-2.0}
OUT=${ASV_TRACK_OUT:-$ROOT/.asv/track}
ASV="$(dirname "$VPY")/asv"
T0=$(date +%s)

# One benchmark (and one parameter) per layer: the compiled kernels, the
# realm engine, a cold module transform, the pool's own overhead, a local
# CAS read, and a 1,000-package load cold and warm with 2 workers.
SUBSET=(
    '^bench_interner\.InternerTime\.time_intern_many\('"'"'cython'"'"'\)$'
    '^bench_path\.NormalizeTime\.time_normalize_many\('"'"'cython'"'"'\)$'
    '^bench_resource\.LedgerAcquireRelease\.time_cpu1\('"'"'cython'"'"'\)$'
    '^bench_v8\.FreshEvaluation\.time_evaluate_50_lines\('"'"'engine-realm'"'"'\)$'
    '^bench_modules\.Transform\.time_transform\('"'"'cold'"'"'\)$'
    '^bench_worker\.SubmitOverhead\.time_submit_1000_noop\('"'"'zako'"'"'\)$'
    '^bench_cas\.CacheHit\.time_read_whole\('"'"'local_disk'"'"'\)$'
    '^bench_load\.LoadTree\.time_(cold|warm)\(2\)$'
)
FILES=(bench_interner bench_path bench_resource bench_v8 bench_modules bench_worker bench_cas bench_load)

BASE=${ASV_TRACK_BASELINE:-$(head -n1 "$ROOT/asv_benchmarks/BASELINE" | tr -d '[:space:]')}
BASE=$(git -C "$ROOT" rev-parse --verify "$BASE^{commit}")
HEAD=$(git -C "$ROOT" rev-parse HEAD)
echo "asv tracking: baseline ${BASE:0:12} vs HEAD ${HEAD:0:12}, failing factor ${FACTOR}x, load average $(cut -d" " -f1-3 /proc/loadavg)"
if [ "$BASE" = "$HEAD" ]; then
    echo "HEAD is the baseline: nothing to compare, the step passes"
    exit 0
fi

T="$WORK/asv-track"
rm -rf "$T"
mkdir -p "$T/benchmarks" "$OUT"
touch "$T/benchmarks/__init__.py"
for f in "${FILES[@]}"; do cp "$ROOT/asv_benchmarks/$f.py" "$T/benchmarks/"; done
"$PY" - "$ROOT" "$T" "$OUT" <<'PYEOF'
import json, os, sys
root, t, out = sys.argv[1:]
with open(os.path.join(root, "asv.conf.json")) as f:
    conf = json.load(f)
conf.update(repo=root, benchmark_dir=os.path.join(t, "benchmarks"), env_dir=os.path.join(t, "env"),
            results_dir=os.path.join(out, "results"), html_dir=os.path.join(out, "html"))
with open(os.path.join(out, "asv.conf.json"), "w") as f:
    json.dump(conf, f, indent=2)
PYEOF
CONF="$OUT/asv.conf.json"  # kept beside the results: `asv preview` needs it later
"$ASV" machine --config "$CONF" --yes --machine ci >/dev/null

# The baseline's install: a copy of CI's venv (its dependencies, no pip
# round trips) with the editable HEAD swapped for the baseline's source
# tree, taken from git (a full clone has it). The kernels are compiled only
# when the baseline's differ from HEAD's; else HEAD's build is reused.
# Building from scratch (venv + pip + Cython) took 231 s on this shared
# 2-core machine: most of the step's budget.
SRC="$T/baseline-src"
mkdir -p "$SRC"
if [ "${ASV_TRACK_SELF:-}" = 1 ]; then
    echo "noise check: the baseline leg is HEAD's own tree"
    SRC_COMMIT=$HEAD
else
    SRC_COMMIT=$BASE
fi
git -C "$ROOT" archive "$SRC_COMMIT" | tar -x -C "$SRC"
VENV_HEAD=$(cd "$(dirname "$VPY")/.." && pwd)
VENV_BASE="$T/base-venv"
cp -a "$VENV_HEAD" "$VENV_BASE"
SITE=$("$VENV_BASE/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$SITE"/__editable__*zako* "$SITE"/zako-*.dist-info
echo "$SRC" > "$SITE/zako-asv-baseline.pth"
if git -C "$ROOT" diff --quiet "$SRC_COMMIT" HEAD -- zako/_core setup.py && ls "$ROOT"/zako/_core/*.so >/dev/null 2>&1; then
    cp "$ROOT"/zako/_core/*.so "$SRC/zako/_core/"
    echo "baseline kernels: same sources as HEAD, HEAD's build reused"
else
    echo "baseline kernels differ from HEAD's: compiling them"
    "$VENV_BASE/bin/python" -m pip install -q "Cython>=3.0" setuptools wheel
    (cd "$SRC" && "$VENV_BASE/bin/python" setup.py -q build_ext --inplace)
fi
(cd "$T" && "$VENV_BASE/bin/python" -c '
import sys, zako
assert zako.__file__.startswith(sys.argv[1]), zako.__file__
assert zako.IMPLEMENTATION == "cython", zako.IMPLEMENTATION
' "$SRC")
echo "baseline installed in $(( $(date +%s) - T0 )) s"

LINK="$T/py"
REGEX=()
for r in "${SUBSET[@]}"; do REGEX+=(-b "$r"); done
run_leg() {  # run_leg VENV_DIR COMMIT: the subset, recorded under COMMIT
    ln -sfn "$1" "$LINK"
    (cd "$T" && "$ASV" run --config "$CONF" --machine ci -E "existing:$LINK/bin/python" \
        --set-commit-hash "$2" --show-stderr "${REGEX[@]}" "${@:3}")
}
# One process per benchmark (asv's default is 2) keeps the step inside its
# budget on 2 cores; the legs run back to back, baseline first.
set +e
rc=0
run_leg "$VENV_BASE" "$BASE" -a processes=1 || rc=1
run_leg "$VENV_HEAD" "$HEAD" -a processes=1 || rc=1
set -e
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

TABLE="$T/compare.txt"
compare() {
    "$ASV" compare --config "$CONF" --machine ci --factor "$FACTOR" --split "$BASE" "$HEAD" > "$TABLE"
    # The parameters outside the subset are rows of n/a on both sides: left out.
    grep -v -E '\| +n/a +\| +n/a +\|' "$TABLE" || true
    worse=$(grep -E '^\| *[+!] *\|' "$TABLE" || true)
}
compare
if [ -n "$worse" ]; then
    # A burst of load from elsewhere can land on one leg only: the flagged
    # benchmarks run once more on both sides, samples appended, and only
    # what is still slower fails the step.
    AGAIN=()
    while IFS= read -r name; do
        AGAIN+=(-b "$("$PY" -c 'import re, sys; print("^" + re.escape(sys.argv[1]) + "$")' "$name")")
    done < <(echo "$worse" | awk -F'|' '{gsub(/^ +| +$/, "", $6); print $6}')
    echo "asv tracking: confirming $(( ${#AGAIN[@]} / 2 )) flagged row(s) with a second run of each leg"
    REGEX=("${AGAIN[@]}")
    set +e
    run_leg "$VENV_BASE" "$BASE" -a processes=1 --append-samples
    run_leg "$VENV_HEAD" "$HEAD" -a processes=1 --append-samples
    set -e
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    compare
fi

# The HTML is for people; a publish problem (say, a clone without a
# branch named as in asv.conf.json) is reported, not a failed gate.
if "$ASV" publish --config "$CONF" > "$T/publish.log" 2>&1; then
    echo "asv HTML (graphs per benchmark over the commits measured): $OUT/html/index.html"
    echo "  view it with: $ASV preview --config $CONF   (or open the file)"
else
    echo "asv publish failed (the comparison above stands):" >&2
    tail -n 20 "$T/publish.log" >&2
fi
echo "asv tracking took $(( $(date +%s) - T0 )) s"

if [ -n "$worse" ]; then
    echo "asv tracking: slower than ${BASE:0:12} by more than ${FACTOR}x, or newly failing:" >&2
    echo "$worse" >&2
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    # asv run exits non-zero when a benchmark failed; a HEAD failure shows
    # as "!" above, a baseline-only failure (an API it lacks) is no regression.
    echo "asv tracking: some benchmark failed in one leg (see above); no regression against the baseline"
fi
echo "asv tracking: no subset benchmark slower than ${FACTOR}x the baseline"
