#!/bin/sh
# install_test.sh BUILD_DIR SOURCE_DIR LIBDIR CMAKE PKG_CONFIG CC: the SDK as a plugin
# author meets it. `cmake --install` the build into a fresh prefix; check the files;
# build examples/my_mixer once with find_package(zoo) and once with a plain cc line
# using pkg-config; the installed `zoo plugins` lists each from ZOO_PLUGIN_PATH, and a
# tiny `zoo train` runs with it. Then the task SDK: examples/my_task built with
# zoo_add_task, listed among the tasks, and a tiny sweep naming it with a knob axis run
# to completion (under mpirun when there is one), every run recorded ok.
# Exit 0 pass, 1 fail. The prefix is removed on success.
build=$1 src=$2 libdir=$3 cmake=$4 pkgconfig=$5 cc=$6
work=$(mktemp -d "${TMPDIR:-/tmp}/zoo-install-XXXXXX") || exit 1
prefix=$work/prefix
log=$work/log
fail() {
    echo "FAIL $*"
    [ -s "$log" ] && sed 's/^/  | /' "$log" | tail -40
    echo "  (kept $work)"
    exit 1
}
run() { # run <what> <command...>: output to $log, fail with it shown
    what=$1
    shift
    "$@" >"$log" 2>&1 || fail "$what: $*"
}

run "install" "$cmake" --install "$build" --prefix "$prefix"
for f in bin/zoo "$libdir/libzoo.so" include/zoo/mixer.h include/zoo/graph.h include/zoo/plugin.h \
    include/zoo/task.h "$libdir/zoo/plugins/attention.so" "$libdir/zoo/plugins/mqar.so" \
    "$libdir/cmake/zoo/zooConfig.cmake" \
    "$libdir/cmake/zoo/zooConfigVersion.cmake" "$libdir/cmake/zoo/zooTargets.cmake" \
    "$libdir/cmake/zoo/ZooPlugin.cmake" "$libdir/pkgconfig/zoo.pc"; do
    [ -e "$prefix/$f" ] || fail "installed tree lacks $f"
done
zoo=$prefix/bin/zoo

# The installed zoo finds the installed libzoo and the installed plugins, not the build's.
run "installed zoo plugins" env -u ZOO_PLUGIN_PATH "$zoo" plugins
grep -qF "$prefix/$libdir/zoo/plugins/attention.so" "$log" || fail "installed zoo does not list the installed attention.so"
grep -qF "$build/plugins" "$log" && fail "installed zoo searches the build tree"

# 1. CMake: find_package(zoo) + zoo_add_mixer, configured out of tree.
run "configure example" "$cmake" -S "$src/examples/my_mixer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
run "build example" "$cmake" --build "$work/cm"
[ -f "$work/cm/my_mixer.so" ] || fail "no $work/cm/my_mixer.so"
nm -D --defined-only "$work/cm/my_mixer.so" | grep -v ' zoo_mixer_v1$' | grep -q ' [TDBR] ' &&
    fail "my_mixer.so exports more than zoo_mixer_v1: $(nm -D --defined-only "$work/cm/my_mixer.so")"
run "zoo plugins (cmake-built)" env ZOO_PLUGIN_PATH="$work/cm" "$zoo" plugins
grep -qF "$work/cm/my_mixer.so" "$log" || fail "zoo plugins does not list the CMake-built my_mixer"
grep -qF "example: per-token gate" "$log" || fail "zoo plugins lacks my_mixer's summary"

# 2. A plain cc line with pkg-config.
mkdir -p "$work/pc"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
cflags=$("$pkgconfig" --cflags zoo) || fail "pkg-config --cflags zoo"
libs=$("$pkgconfig" --libs zoo) || fail "pkg-config --libs zoo"
plugindir=$("$pkgconfig" --variable=plugindir zoo) || fail "pkg-config --variable=plugindir zoo"
[ "$(cd "$plugindir" 2>/dev/null && pwd -P)" = "$(cd "$prefix/$libdir/zoo/plugins" && pwd -P)" ] ||
    fail "plugindir '$plugindir' is not the installed plugin folder"
# shellcheck disable=SC2086
run "cc with pkg-config" "$cc" -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden $cflags \
    "$src/examples/my_mixer/my_mixer.c" -o "$work/pc/my_mixer.so" $libs
run "zoo plugins (pkg-config-built)" env ZOO_PLUGIN_PATH="$work/pc" "$zoo" plugins my_mixer
grep -qF "$work/pc/my_mixer.so" "$log" || fail "zoo plugins my_mixer does not show the pkg-config-built file"

# 3. It trains: a tiny run with the out-of-tree mixer through the installed zoo.
run "zoo train with my_mixer" env ZOO_PLUGIN_PATH="$work/pc" "$zoo" train --mixer my_mixer --vocab 64 \
    --seq-len 16 --kv-pairs 2 --train-examples 64 --test-examples 32 --d-model 16 --epochs 1 --batch-size 32 \
    --threads 1 --quiet

# 4. A task: find_package(zoo) + zoo_add_task, out of tree.
run "configure my_task" "$cmake" -S "$src/examples/my_task" -B "$work/task" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
run "build my_task" "$cmake" --build "$work/task"
[ -f "$work/task/my_task.so" ] || fail "no $work/task/my_task.so"
nm -D --defined-only "$work/task/my_task.so" | grep -v ' zoo_task_v1$' | grep -q ' [TDBR] ' &&
    fail "my_task.so exports more than zoo_task_v1: $(nm -D --defined-only "$work/task/my_task.so")"
run "zoo plugins (my_task)" env ZOO_PLUGIN_PATH="$work/task" "$zoo" plugins
# listed after "N tasks found", with its file and summary, not among the mixers
sed -n '/^[0-9]* tasks* found$/,$p' "$log" | grep -q '^my_task$' || fail "zoo plugins does not list my_task as a task"
grep -qF "$work/task/my_task.so" "$log" || fail "zoo plugins does not show my_task's file"
grep -qF "example: recall the token after a marker" "$log" || fail "zoo plugins lacks my_task's summary"
run "zoo plugins my_task" env ZOO_PLUGIN_PATH="$work/task" "$zoo" plugins my_task
grep -q '^ *min_gap  *int  *4 ' "$log" || fail "zoo plugins my_task does not show the knob min_gap"

# 5. A tiny sweep naming it, with an axis over its knob: every run recorded ok.
printf '%s\n' "name: my_task_tiny" \
    "task: {name: my_task, vocab: 64, seq_len: 16, min_gap: [2, 4], train_examples: 64, test_examples: 32}" \
    "model: {d_model: 16, n_layers: 2, mixer: attention}" \
    "train: {epochs: 1, batch_size: 32, threads: 1}" >"$work/sweep.yaml"
if command -v mpirun >/dev/null 2>&1; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    run "mpirun zoo sweep with my_task" env ZOO_PLUGIN_PATH="$work/task" OMP_NUM_THREADS=1 \
        mpirun -np 2 -x ZOO_PLUGIN_PATH -x OMP_NUM_THREADS "$zoo" sweep "$work/sweep.yaml" -o "$work/results.h5" --quiet
else
    run "zoo sweep with my_task" env ZOO_PLUGIN_PATH="$work/task" OMP_NUM_THREADS=1 \
        "$zoo" sweep "$work/sweep.yaml" -o "$work/results.h5" --quiet
fi
run "zoo status" "$zoo" status "$work/results.h5"
grep -q '^runs: 2: 2 done (ok), 0 failed' "$log" || fail "the my_task sweep did not record 2 runs ok"

rm -rf "$work"
echo "install_test: ok"
