# lib.sh: shell helpers shared by the sweep tests (sourced, not run).

# tiny FILE [TRAIN_EXAMPLES]: a sweep of 12 tiny runs with the toy mixers, a few tenths
# of a second each; their numbers depend only on the spec.
tiny() {
    cat > "$1" <<EOF
name: tiny
task: {vocab: 64, seq_len: 32, kv_pairs: 4, train_examples: ${2:-1536}, test_examples: 128}
model: {n_layers: 2, d_model: [8, 16, 24], mixers: [sweeptoy, {name: sweeptoy_b, scale: 0.25}]}
train: {lr: [0.01, 0.003], epochs: 3, batch_size: 32}
EOF
}

# tree PID: PID and every process below it (children first found), to kill them together.
tree() {
    local p=$1 kids
    echo "$p"
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
    for k in $kids; do tree "$k"; done
}

# kill_after_save FILE PID BEFORE: once FILE is a new file (an inode other than BEFORE,
# "none" when there was none: each save renames a new file in) or PID has ended, wait a
# random moment (0 to 0.3 s) and kill -9 PID and every process below it. Waiting for the
# file rather than a fixed time keeps a test right under load. 0 when something was killed.
kill_after_save() {
    local f=$1 pid=$2 before=$3 now t
    for t in $(seq 1 600); do
        now=$(stat -c %i "$f" 2> /dev/null || echo none)
        [ "$now" != none ] && [ "$now" != "$before" ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.05
    done
    sleep "0.$((RANDOM % 4))"
    kill -9 $(tree "$pid") 2> /dev/null
}

# same_params A B (uses $py, a Python with h5py): every dataset of two --save checkpoints equal bit for bit.
same_params() {
    "$py" - "$1" "$2" <<'EOF'
import sys, h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = sorted(k for k in b if isinstance(b[k], h5py.Dataset))
assert names and names == sorted(k for k in a if isinstance(a[k], h5py.Dataset)), "different datasets"
bad = [k for k in names if a[k][()].tobytes() != b[k][()].tobytes()]
assert not bad, f"differ: {bad[:3]}"
EOF
}
