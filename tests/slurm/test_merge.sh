#!/bin/bash
# test_merge.sh: `zoo sweep --slice` and `zoo merge` without SLURM: slices split the
# sweep by cost and cover it once; merged parts equal the whole sweep run at once, in
# any input order; duplicates are dropped, missing runs stay pending (and a resume
# finishes them); different sweeps, existing or locked outputs, bad inputs are refused.
#   test_merge.sh ZOO PYTHON SOURCE_DIR
set -u
ZOO=$1 PY=$2 SRC=$3
export OMP_NUM_THREADS=1
CHECK=("$PY" "$SRC/tests/slurm/results_check.py")
tiny=$SRC/tests/slurm/tiny.yaml
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
rows() { "$PY" -c 'import h5py,sys; print(len(h5py.File(sys.argv[1])["summary"]))' "$1"; }
status_of() { # how many rows of $1 have status $2
  "$PY" -c 'import h5py,sys; s=h5py.File(sys.argv[1])["summary"]["status"]; print(sum(x.decode()==sys.argv[2] for x in s))' "$1" "$2"
}
expect_rc() { # expected-code description command...
  local want=$1 what=$2 rc
  shift 2
  "$@" >out.txt 2>err.txt
  rc=$?
  if [ $rc = "$want" ]; then ok "$what (exit $rc)"; else fail "$what: exit $rc, expected $want: $(cat err.txt out.txt)"; fi
}

if ! "$ZOO" sweep --help | grep -q -- "--slice"; then
  fail "zoo sweep has no --slice option (the hook in drivers/cmd_sweep.c is missing; see jobs/README.md)"
  exit 1
fi

"$ZOO" sweep "$tiny" -o full.h5 --quiet >/dev/null || fail "the whole sweep failed"
for i in 0 1 2; do
  "$ZOO" sweep "$tiny" -o part$i.h5 --slice $i/3 --quiet >/dev/null || fail "slice $i/3 failed"
done
n=$(($(rows part0.h5) + $(rows part1.h5) + $(rows part2.h5)))
[ "$n" = 6 ] && [ "$(rows part0.h5)" = 2 ] && [ "$(rows part1.h5)" = 2 ] ||
  fail "slices of 6 runs (3 of each cost) should hold 2 rows each: $(rows part0.h5) $(rows part1.h5) $(rows part2.h5)"

expect_rc 0 "merge of the three parts" "$ZOO" merge -o merged.h5 part0.h5 part1.h5 part2.h5
grep -q "6 runs from 3 files: 6 finished (6 ok), 0 pending, 0 duplicates" out.txt || fail "merge summary: $(cat out.txt)"
"${CHECK[@]}" complete merged.h5 6 --sessions-min 4 && "${CHECK[@]}" same full.h5 merged.h5 ||
  fail "the merged parts differ from the whole sweep"
expect_rc 0 "merge in another order" "$ZOO" merge -o reversed.h5 part2.h5 part1.h5 part0.h5
"${CHECK[@]}" same full.h5 reversed.h5 >/dev/null || fail "the merge depends on the order of its inputs"

expect_rc 0 "merge with duplicates" "$ZOO" merge -o dup.h5 full.h5 part1.h5 part1.h5 ./part1.h5 part0.h5
grep -q "from 3 files: .* 4 duplicates dropped" out.txt || fail "duplicates: $(cat out.txt)"
"${CHECK[@]}" same full.h5 dup.h5 >/dev/null || fail "the merge with duplicates differs from the whole sweep"

expect_rc 1 "merge with a part missing: exit 1" "$ZOO" merge -o gap.h5 part0.h5 part2.h5
[ "$(status_of gap.h5 pending)" = 2 ] && [ "$(rows gap.h5)" = 6 ] ||
  fail "the runs of the missing part should be 2 pending rows of 6: $(rows gap.h5) rows"
"$ZOO" sweep "$tiny" -o gap.h5 --quiet >resume.txt 2>&1 || fail "zoo sweep on the merged file: $(cat resume.txt)"
grep -q "6 runs, 4 already recorded, 2 to do" resume.txt || fail "the resume did not pick up the merge: $(cat resume.txt)"
"${CHECK[@]}" same full.h5 gap.h5 >/dev/null || fail "the resumed merged file differs from the whole sweep"

cp part0.h5 into.h5
expect_rc 0 "merge into one of the inputs" "$ZOO" merge -o into.h5 into.h5 part1.h5 part2.h5
"${CHECK[@]}" same full.h5 into.h5 >/dev/null || fail "merging into an input"

sed 's/name: slurm-tiny/name: other/; s/lr: \[0.001, 0.003, 0.01\]/lr: [0.02]/' "$tiny" >other.yaml
"$ZOO" sweep other.yaml -o other.h5 --quiet >/dev/null || fail "the other sweep failed"
expect_rc 2 "different sweep files refused" "$ZOO" merge -o diff.h5 part0.h5 other.h5
grep -q -- "--allow-different" err.txt || fail "the refusal does not name --allow-different: $(cat err.txt)"
[ ! -e diff.h5 ] || fail "a refused merge wrote diff.h5"
expect_rc 1 "different sweep files with --allow-different" "$ZOO" merge -o diff.h5 part0.h5 other.h5 --allow-different
[ "$(rows diff.h5)" = 8 ] && [ "$(status_of diff.h5 ok)" = 4 ] ||
  fail "--allow-different: expected 8 rows (6 + 2), 4 ok: $(rows diff.h5) rows, $(status_of diff.h5 ok) ok"
grep -q "2 runs not in the first file's sweep" out.txt || fail "extra runs not reported: $(cat out.txt)"

expect_rc 2 "an existing output refused" "$ZOO" merge -o merged.h5 part0.h5
expect_rc 0 "--force replaces it" "$ZOO" merge -o merged.h5 part0.h5 part1.h5 part2.h5 --force
[ -f merged.h5.bak ] && "${CHECK[@]}" same full.h5 merged.h5.bak >/dev/null || fail "--force did not keep merged.h5.bak"
# Another writer's lock: a fcntl lock on the results file itself (zoo's is an OFD lock,
# which conflicts with it).
"$PY" -c 'import fcntl, sys, time; f = open(sys.argv[1], "a+"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(10)' locked.h5 &
lock_pid=$!
sleep 1
expect_rc 2 "an output in use (locked) refused" "$ZOO" merge -o locked.h5 part0.h5
kill "$lock_pid" 2>/dev/null
wait "$lock_pid" 2>/dev/null
echo "not hdf5" >text.h5
expect_rc 2 "a file that is not a results file" "$ZOO" merge -o x.h5 text.h5
expect_rc 2 "a missing input" "$ZOO" merge -o x.h5 part0.h5 nothere.h5
expect_rc 2 "no -o" "$ZOO" merge part0.h5
expect_rc 2 "no inputs" "$ZOO" merge -o x.h5
expect_rc 2 "an unknown option" "$ZOO" merge -o x.h5 part0.h5 --bogus
expect_rc 2 "--slice 3/3" "$ZOO" sweep "$tiny" -o s.h5 --slice 3/3
expect_rc 2 "--slice x" "$ZOO" sweep "$tiny" -o s.h5 --slice x
expect_rc 2 "--slice 1/0" "$ZOO" sweep "$tiny" -o s.h5 --slice 1/0
[ ! -e x.h5 ] && [ ! -e s.h5 ] || fail "a refused command wrote a file"
expect_rc 0 "an empty slice (7 parts of 6 runs)" "$ZOO" sweep "$tiny" -o empty.h5 --slice 6/7 --quiet
[ "$(rows empty.h5)" = 0 ] || fail "slice 6/7 of 6 runs should be empty"

if [ "$fails" = 0 ]; then
  echo PASS
  exit 0
fi
echo "$fails check(s) failed" >&2
exit 1
