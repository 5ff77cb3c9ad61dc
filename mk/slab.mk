# The global API shared by four threads through the locked front end, under
# ThreadSanitizer (test-tsan in mk/sync.mk runs the TSAN_FILTERS tests).
TSAN_FILTERS += kmalloc_four_threads kmalloc_oom_
