#!/usr/bin/env bash
# Mutation testing of one talentflow module with mutmut, against a focused set of tests.
#
#   tests/mutation/run.sh talentflow/partitions/codec.py tests/partitions/test_codec.py ...
#   MUTANTS='talentflow.engine.run.x_wanted__mutmut_*' tests/mutation/run.sh ...   # some only
#
# Not part of `make test` (see tests/README.md for the modules, commands, scores and times).
# mutmut 3 writes its mutants into ./mutants and imports them from there, so the run happens
# in a scratch copy of the COMMITTED tree (git archive HEAD; MUTATION_WORK, default a new
# folder under /tmp): the working tree is never touched, other test runs in it are never
# served a mutant, and uncommitted work does not blur the score.
# Needs mutmut in the venv: .venv/bin/pip install "mutmut==3.8.1".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
module=$1; shift
[ $# -gt 0 ] || { echo "usage: $0 MODULE.py TEST_PATH..." >&2; exit 2; }
work=${MUTATION_WORK:-$(mktemp -d /tmp/tf-mutation.XXXXXX)}
rm -rf "${work:?}"
mkdir -p "$work"
git -C "$root" archive HEAD | tar -C "$work" -xf -
{
  echo "[mutmut]"
  echo "source_paths=talentflow"
  echo "only_mutate=$module"
  echo "also_copy="
  for d in tasks flows blocks examples data migrations bench prefect.yaml; do echo "    $d"; done
  echo "pytest_add_cli_args=-p"
  echo "    no:cacheprovider"
  echo "pytest_add_cli_args_test_selection="
  for t in "$@"; do echo "    $t"; done
} > "$work/setup.cfg"
# The project's pyproject.toml has no [tool.mutmut]: mutmut reads setup.cfg.
cd "$work"
started=$(date +%s)
# One child at a time: the tests share one embedded PostgreSQL and its template database.
# shellcheck disable=SC2086
"$root/.venv/bin/mutmut" run --max-children "${MUTATION_CHILDREN:-1}" ${MUTANTS:-} \
  > mutmut-run.log 2>&1 || { tr '\r' '\n' < mutmut-run.log | tail -n 40; exit 1; }
tr '\r' '\n' < mutmut-run.log | grep -v '^\s*$' | tail -n 2
echo "mutmut: $module took $(( $(date +%s) - started )) s (work folder $work)"
"$root/.venv/bin/mutmut" results > survivors.txt 2>&1 || true
echo "survivors: $work/survivors.txt ($(grep -c ': survived' survivors.txt || true))"
"$root/.venv/bin/mutmut" export-cicd-stats > /dev/null && cat mutants/mutmut-cicd-stats.json
echo
