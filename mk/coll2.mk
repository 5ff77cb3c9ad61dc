# coll2 (map, hashmap, box/rc/arc): the threaded arc tests run under TSan too
# (test-tsan is defined by mk/sync.mk).
TSAN_FILTERS += arc_mt_
