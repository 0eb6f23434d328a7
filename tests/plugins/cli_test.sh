#!/bin/sh
# cli_test.sh ZOO TESTPLUGIN_DIR: `zoo plugins` and `zoo info` as a user runs them:
# exit codes, the attention mixer with its knobs and file, the tasks' section (mqar, the
# test task with its tags), broken files of either kind listed with their error (not
# fatal), a mixer or task by name, --help, an unknown name. Exit 0 pass, 1 fail.
zoo=$1
tp=$2
fail=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

expect() { # expect <description> <fixed string>
    if ! grep -qF -- "$2" "$out"; then
        echo "FAIL $1: output lacks '$2'"
        sed 's/^/  | /' "$out"
        fail=1
    fi
}
expect_re() { # expect_re <description> <extended regex>
    if ! grep -qE -- "$2" "$out"; then
        echo "FAIL $1: output has no line matching /$2/"
        sed 's/^/  | /' "$out"
        fail=1
    fi
}
status() { # status <description> <got> <want>
    if [ "$2" -ne "$3" ]; then
        echo "FAIL $1: exit $2, expected $3"
        sed 's/^/  | /' "$out"
        fail=1
    fi
}

ZOO_PLUGIN_PATH=$tp "$zoo" plugins >"$out" 2>&1
status "zoo plugins" $? 0
expect "zoo plugins" "attention"
expect "zoo plugins" "family:   attention"
expect "zoo plugins" "num_heads"
expect_re "zoo plugins" "^ +num_heads +int +1 +attention heads"
expect_re "zoo plugins" "^ +dropout +float +0\.1 "
expect_re "zoo plugins" "^ +bias +bool +true "
expect "zoo plugins" "/attention.so"
expect "zoo plugins" "$tp"
expect "zoo plugins (good test plugin)" "goodmix"
expect_re "zoo plugins (int list knob)" "^ +kernel_sizes +int list +\[3, -1, 3, -1\] +an int-list knob"
expect "zoo plugins (backends)" "backends: cpu"
expect "zoo plugins (broken file listed)" "$tp/badmagic.so: bad magic 0xdeadbeef"
expect "zoo plugins (broken file listed)" "$tp/notelf.so: cannot load plugin"
expect "zoo plugins (broken file listed)" "$tp/namemismatch.so: descriptor name 'othername'"

# tasks: their own section after the mixers, with the task ABI, knobs and tags; a broken
# task file is listed with the broken mixers
ZOO_PLUGIN_PATH=$tp "$zoo" plugins >"$out" 2>&1
expect_re "zoo plugins (tasks section)" "^[0-9]+ tasks found$"
ntask=$(sed -n 's/^\([0-9]*\) tasks found$/\1/p' "$out")
mixers_line=$(grep -n "mixers found$" "$out" | cut -d: -f1)
tasks_line=$(grep -n "tasks found$" "$out" | cut -d: -f1)
[ -n "$mixers_line" ] && [ -n "$tasks_line" ] && [ "$tasks_line" -gt "$mixers_line" ] ||
    { echo "FAIL zoo plugins: no tasks section after the mixers"; fail=1; }
[ "${ntask:-0}" -ge 2 ] || { echo "FAIL zoo plugins: '$ntask' tasks, want mqar and goodtask at least"; fail=1; }
# the task entries sit in the tasks section, not among the mixers
sed -n "${tasks_line:-1},\$p" "$out" | grep -q "^goodtask$" || { echo "FAIL zoo plugins: goodtask not under tasks"; fail=1; }
sed -n "${tasks_line:-1},\$p" "$out" | grep -q "^mqar$" || { echo "FAIL zoo plugins: mqar not under tasks"; fail=1; }
expect "zoo plugins (task file)" "$tp/goodtask.so"
expect_re "zoo plugins (task abi)" "^  task abi: 1\.[0-9]+$"
expect "zoo plugins (task tags)" "  tags:     even, odd"
expect_re "zoo plugins (mqar knobs)" "^ +kv_pairs +int +4 +key-value pairs"
expect "zoo plugins (broken task file listed)" "$tp/badtaskmagic.so: bad magic 0xdeadbeef in 'zoo_task_v1'"

"$zoo" plugins attention >"$out" 2>&1
status "zoo plugins attention" $? 0
expect "zoo plugins attention" "multi-head causal softmax attention"
if grep -q "goodmix" "$out"; then echo "FAIL zoo plugins attention: lists other mixers"; fail=1; fi

# a task by name, alone or with a mixer
"$zoo" plugins mqar attention >"$out" 2>&1
status "zoo plugins mqar attention" $? 0
expect "zoo plugins mqar" "multi-query associative recall"
expect_re "zoo plugins mqar" "^ +random_non_queries +bool +false "
expect "zoo plugins mqar attention" "multi-head causal softmax attention"
if grep -q "tasks found" "$out"; then echo "FAIL zoo plugins mqar: prints the whole listing"; fail=1; fi
ZOO_PLUGIN_PATH=$tp "$zoo" plugins goodtask >"$out" 2>&1
status "zoo plugins goodtask" $? 0
expect "zoo plugins goodtask" "loader test task"
"$zoo" plugins mqr >"$out" 2>&1
status "zoo plugins mqr" $? 2
expect "zoo plugins mqr" "unknown task 'mqr' (did you mean 'mqar'?"
ZOO_PLUGIN_PATH=$tp "$zoo" plugins badtaskmagic >"$out" 2>&1
status "zoo plugins badtaskmagic" $? 2
expect "zoo plugins badtaskmagic" "bad magic 0xdeadbeef in 'zoo_task_v1'"
"$zoo" plugins nosuchthing >"$out" 2>&1
status "zoo plugins nosuchthing" $? 2
expect "zoo plugins nosuchthing" "no mixer or task 'nosuchthing'"

"$zoo" plugins --help >"$out" 2>&1
status "zoo plugins --help" $? 0
expect "zoo plugins --help" "usage: zoo plugins"
expect "zoo plugins --help" "ZOO_PLUGIN_PATH"

"$zoo" plugins atention >"$out" 2>&1
status "zoo plugins atention" $? 2
expect "zoo plugins atention" "unknown mixer 'atention' (did you mean 'attention'?"

"$zoo" plugins --bogus >"$out" 2>&1
status "zoo plugins --bogus" $? 2

ZOO_PLUGIN_PATH=/some/extra/dir "$zoo" info >"$out" 2>&1
status "zoo info" $? 0
for want in "zoo:" "git revision:" "build type:" "backend cpu    usable, implements" "backend cuda" "threads:" "blas:" "plugin path:" "/some/extra/dir  (missing)"; do
    expect "zoo info" "$want"
done
# the CPU backend implements every op; a backend that is not built claims none
total=$(sed -n 's/^backend cpu .* implements \([0-9]*\) of \([0-9]*\) ops.*/\1 \2/p' "$out")
set -- $total
[ -n "${1:-}" ] && [ "$1" = "$2" ] || { echo "FAIL zoo info: cpu implements '$total'"; fail=1; }
if grep -q "^backend cuda   not built" "$out"; then
    expect "zoo info" "backend cuda   not built, implements 0 of $2 ops; missing: add, "
fi
# each mixer's backends come from the ops of its graph
"$zoo" plugins attention >"$out" 2>&1
status "zoo plugins attention" $? 0
expect "zoo plugins attention" "backends: cpu"
if "$zoo" info | grep -q "^backend cuda   not built"; then
    expect "zoo plugins attention" "(cuda: no kernel for embedding, add, dropout, layernorm, linear, slice, attention, ce_head)"
fi
"$zoo" info --help >"$out" 2>&1
status "zoo info --help" $? 0

[ $fail -eq 0 ] && echo "cli_test: ok"
exit $fail
