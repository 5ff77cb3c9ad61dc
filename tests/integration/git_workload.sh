#!/bin/sh
# SPDX-License-Identifier: MIT
# A git workload on a generated repository, for the real-program tests and
# benchmarks of kheap's malloc drop-in: init, add, commit (a branch and a
# merge too), gc, fsck, log, grep, blame, diff. Everything it prints depends
# only on the repository, which is the same each run (fixed names and dates),
# so runs on two mallocs must print the same.
#   git_workload.sh DIR [SCALE]      (SCALE: files per commit step, default 1)
set -e
dir=$1
scale=${2:-1}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
export HOME="$PWD" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME=kheap GIT_AUTHOR_EMAIL=kheap@example.invalid
export GIT_COMMITTER_NAME=kheap GIT_COMMITTER_EMAIL=kheap@example.invalid
git init -q -b main repo
cd repo
git config gc.auto 0
# files: dirs d0..d19, each with 50*scale files of generated text
gen() { # commit number
  awk -v c="$1" -v s="$scale" 'BEGIN {
    for (d = 0; d < 20; d++) for (f = 0; f < 50 * s; f++) {
      if (c > 0 && (d * 50 * s + f) % 7 != c % 7) continue;
      path = sprintf("d%d/f%04d.txt", d, f);
      printf "" > path;
      n = 20 + (d * 131 + f * 17 + c * 7) % 120;
      for (l = 0; l < n; l++)
        printf "line %d of %s, commit %d: %s\n", l, path, (l % 5 == 0 ? c : 0),
          substr("the quick brown fox jumps over the lazy dog 0123456789", 1 + (l * 3 + f) % 40) >> path;
      close(path);
    }
  }'
}
for d in $(seq 0 19); do mkdir -p d$d; done
i=0
for c in $(seq 0 24); do
  export GIT_AUTHOR_DATE="2020-01-01T00:$(printf %02d "$c"):00Z" GIT_COMMITTER_DATE="2020-01-01T00:$(printf %02d "$c"):00Z"
  gen "$c"
  if [ "$c" -eq 12 ]; then git checkout -q -b side; fi
  if [ "$c" -eq 18 ]; then git checkout -q main; fi
  git add -A
  git commit -q -m "commit $c"
  i=$((i + 1))
done
export GIT_AUTHOR_DATE="2020-01-02T00:00:00Z" GIT_COMMITTER_DATE="2020-01-02T00:00:00Z"
git merge -q --no-edit -X ours side > /dev/null 2>&1
git gc -q --prune=now
st=0
fsck=$(git fsck --full --strict 2>&1) || st=$?
echo "fsck: status $st, $(printf '%s' "$fsck" | grep -c .) messages"
echo "head: $(git rev-parse HEAD) tree $(git rev-parse 'HEAD^{tree}')"
echo "objects: $(git rev-list --all --objects | wc -l)"
git log --graph --format='%H %s' | cksum | sed 's/^/log: /'
git log --stat --format=%H | cksum | sed 's/^/log --stat: /'
git rev-list --all --objects | sort | cksum | sed 's/^/rev-list: /'
git diff --stat HEAD~10 HEAD | tail -1
git grep -c -e 'commit 2[0-4]' | cksum | sed 's/^/grep: /'
git blame d3/f0001.txt | cksum | sed 's/^/blame: /'
git count-objects -v | grep -E '^(count|in-pack|packs):'
