#!/usr/bin/env bash
# Copies the seeds that are too big or too many to commit into a target's working corpus (once):
# the generated fixtures (build/fixtures) and Debian's ONNX backend test data.
#   bash scripts/fuzz_seeds.sh TARGET CORPUS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
corpus=$2
marker="$(dirname "$corpus")/.seeded-$target"  # outside the corpus: libFuzzer reads every file in it
[ -e "$marker" ] && exit 0
testdata=/usr/share/libonnx-testdata/data
small() {  # small() DIR... NAME_PATTERN...: regular files under 64 KiB (-max_len) matching a pattern
  local dirs=() names=()
  for a in "$@"; do if [ -d "$a" ]; then dirs+=("$a"); elif [ "${a:0:1}" != - ]; then names+=(-o -name "$a"); fi; done
  [ ${#dirs[@]} -gt 0 ] || return 0
  find "${dirs[@]}" -type f -size -64k \( -false "${names[@]}" \) 2>/dev/null
}
case $target in
  onnx_model) files=$(small "$testdata/node" "$testdata/simple" "$testdata/pytorch-operator" build/fixtures '*.onnx') ;;
  tensor_pb) files=$(small "$testdata/node" "$testdata/simple" 'input_*.pb' | awk 'NR % 4 == 0') ;;
  torchscript) files=$(small build/fixtures '*.pt' '*.ptl') ;;
  npy) files=$(small build/fixtures '*.npy') ;;
  *) files= ;;
esac
for f in $files; do cp "$f" "$corpus/$(echo "$f" | tr '/' '_')"; done
touch "$marker"
