# Bump, linked list, fixed blocks, locked wrapper: the threaded locked-wrapper
# tests (named _mt_) run under ThreadSanitizer too (test-tsan, mk/sync.mk).
TSAN_FILTERS += _mt_
