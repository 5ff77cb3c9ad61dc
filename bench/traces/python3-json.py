# SPDX-License-Identifier: MIT
# A short mixed workload: JSON round trips, dicts, strings, sorting.
import json, re, collections
docs = []
for i in range(4000):
    d = {"id": i, "name": "item%05d" % i, "tags": ["t%d" % (i % 7), "g%d" % (i % 13)],
         "score": (i * 7919) % 1000 / 10.0, "text": "lorem ipsum " * (i % 20)}
    docs.append(json.dumps(d))
parsed = [json.loads(s) for s in docs]
counts = collections.Counter(t for d in parsed for t in d["tags"])
words = re.findall(r"\w+", " ".join(d["text"] for d in parsed[:1500]))
index = {}
for n, w in enumerate(words):
    index.setdefault(w, []).append(n)
top = sorted(parsed, key=lambda d: (-d["score"], d["name"]))[:100]
print(len(docs), len(counts), len(words), top[0]["name"])
