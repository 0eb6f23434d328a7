#!/bin/sh
# cli_test.sh ZOO TESTPLUGIN_DIR: `zoo plugins` and `zoo info` as a user runs them:
# exit codes, the attention mixer with its knobs and file, broken files listed with
# their error (not fatal), --help, an unknown name. Exit 0 pass, 1 fail.
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

"$zoo" plugins attention >"$out" 2>&1
status "zoo plugins attention" $? 0
expect "zoo plugins attention" "multi-head causal softmax attention"
if grep -q "goodmix" "$out"; then echo "FAIL zoo plugins attention: lists other mixers"; fail=1; fi

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
