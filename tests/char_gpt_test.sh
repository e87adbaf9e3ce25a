#!/bin/bash
# examples/char_gpt on a small text this script writes (repeated sentences of a
# few words, with some non-ASCII characters, so the vocabulary is code points):
#   smoke:  training a tiny model lowers the validation loss below a bound; the
#           checkpoint resumes; sampling with and without the key/value cache gives
#           the same characters and logits.
#   errors: each bad input fails with exit 2 and a message naming the fault.
#   tests/char_gpt_test.sh smoke|errors CHAR_GPT DIR
set -u
mode=$1 gpt=$2 dir=$3
mkdir -p "$dir"
fail=0
RANDOM=7
words=(the cat sat on a mat and dog ran to big red barn while bird sang café naïve — rose)
for ((line = 0; line < 500; ++line)); do
  s=""
  for ((w = 0; w < 7; ++w)); do s+="${words[RANDOM % ${#words[@]}]} "; done
  echo "${s% }."
done >"$dir/text.txt"
# A single thread: the model is tiny, and the test must not depend on the machine's load.
tiny=(--layers 2 --heads 2 --width 32 --context 32 --batch 8 --warmup 20 --lr 3e-3 --eval-batches 20 --threads 1)

if [[ $mode == smoke ]]; then
  # Untrained, the loss is about ln(24) = 3.2; 300 steps reach about 1.2.
  out=$("$gpt" --text "$dir/text.txt" "${tiny[@]}" --steps 300 --eval-interval 150 --expect-val-loss 1.6 \
        --save "$dir/gpt.safetensors" --logdir "$dir/run" 2>&1)
  code=$?
  echo "$out" | grep -E "^step|below|saved"
  [[ $code == 0 && -s "$dir/gpt.safetensors" ]] || { echo "FAIL train: exit $code: $out"; fail=1; }
  ls "$dir/run" | grep -q events || { echo "FAIL --logdir: no event file in $dir/run"; fail=1; }
  # Resume: continues from step 300 up to 400 with the checkpoint's architecture (no flags needed).
  out=$("$gpt" --text "$dir/text.txt" --resume "$dir/gpt.safetensors" --steps 400 --eval-interval 100 \
        --eval-batches 20 --threads 1 --expect-val-loss 1.6 2>&1)
  code=$?
  echo "$out" | grep -E "^step|steps 300 to 400"
  [[ $code == 0 && "$out" == *"steps 300 to 400"* && "$out" == *"step 400: train loss"* ]] ||
    { echo "FAIL resume: exit $code: $out"; fail=1; }
  # Sampling from the checkpoint alone, past the context (so the window restarts), both ways.
  out=$("$gpt" --resume "$dir/gpt.safetensors" --sample 100 --prompt "the cat" --top-k 5 --temperature 0.8 \
        --threads 1 --compare-cache 2>&1)
  code=$?
  echo "$out"
  [[ $code == 0 && "$out" == *"the characters are the same"* ]] || { echo "FAIL cache comparison: exit $code"; fail=1; }
  a=$("$gpt" --resume "$dir/gpt.safetensors" --sample 80 --seed 3 --threads 1 2>&1 | sed -n '/^--- sample/,/^---$/p' | tail -n +2)
  b=$("$gpt" --resume "$dir/gpt.safetensors" --sample 80 --seed 3 --threads 1 --no-cache 2>&1 | sed -n '/^--- sample/,/^---$/p' | tail -n +2)
  [[ -n "$a" && "$a" == "$b" ]] || { echo "FAIL cached and uncached samples differ: [$a] [$b]"; fail=1; }
  [[ $fail == 0 ]] && echo "char_gpt smoke: all cases passed"
  exit $fail
fi

expect() {  # expect NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  out=$("$gpt" "$@" 2>&1)
  code=$?
  if [[ $code != 2 ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: wanted exit 2 and /$pattern/, got exit $code: $out"
    fail=1
  else
    echo "ok   $name: $out"
  fi
}
printf '' >"$dir/empty.txt"
printf 'hello world, this is fine until here \xe2\x82 and then broken' >"$dir/truncated.txt"
printf 'abc\xffdef' >"$dir/badbyte.txt"
for i in 1 2 3 4 5 6 7 8 9 10; do printf 'the cat sat on a mat. '; done >"$dir/short.txt"  # 220 characters
tr 'a-z' 'A-Z' <"$dir/text.txt" >"$dir/upper.txt"
"$gpt" --text "$dir/text.txt" "${tiny[@]}" --steps 2 --eval-interval 2 --eval-batches 1 --save "$dir/two.safetensors" >/dev/null 2>&1 ||
  { echo "FAIL: could not write the checkpoint the cases below need"; exit 1; }
expect empty_file "empty.txt: the file is empty" --text "$dir/empty.txt"
expect invalid_utf8_byte "badbyte.txt: invalid UTF-8 at byte offset 3 \(byte 0xFF" --text "$dir/badbyte.txt"
expect invalid_utf8_continuation "truncated.txt: invalid UTF-8 at byte offset 39" --text "$dir/truncated.txt"
expect shorter_than_context "short.txt: 220 characters are too short for a context of 64 \(the validation split, the last 10%, has 22" --text "$dir/short.txt"
expect other_vocabulary "two.safetensors: the checkpoint was trained on another vocabulary" \
  --text "$dir/upper.txt" --resume "$dir/two.safetensors" --steps 4
expect prompt_outside_vocabulary "--prompt: character 'Z' \(U\+005A\) at position 4 is not in the vocabulary" \
  --resume "$dir/two.safetensors" --sample 5 --prompt "the Zebra"
expect contradicting_flag "--width 64: the checkpoint .* was trained with width 32" \
  --resume "$dir/two.safetensors" --sample 5 --width 64
expect no_such_file "nope.txt: cannot open" --text "$dir/nope.txt"
expect not_a_checkpoint "not a char_gpt checkpoint|safetensors" --resume "$dir/text.txt" --sample 5
expect heads_divide "--heads: 3 does not divide --width 128" --text "$dir/text.txt" --heads 3
expect bad_number "--temperature: 'hot' is not a number" --text "$dir/text.txt" --temperature hot
expect nothing_to_do "--text or --resume is required"
[[ $fail == 0 ]] && echo "char_gpt errors: all cases passed"
exit $fail
