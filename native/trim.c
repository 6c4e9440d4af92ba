// malloc_trim(0) for Node: hands the free pages of every glibc malloc arena back to the kernel.
// V8's gc() frees JavaScript objects, but the native memory a burst used (socket buffers, HTTP
// parsers, SQLite and RE2 allocations) stays in glibc's arenas after it is freed, so RSS stays high
// and the memory governor could not leave `warning` after load ended. Envoy's shrink_heap action does
// the same with tcmalloc's ReleaseMemoryToSystem. On a libc without malloc_trim, trim() returns null.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value Trim(napi_env env, napi_callback_info info) {
  napi_value out;
#if defined(__GLIBC__)
  int released = malloc_trim(0);
  napi_get_boolean(env, released == 1, &out);
#else
  napi_get_null(env, &out);
#endif
  return out;
}

/*
 * mallopt(M_MMAP_THRESHOLD, bytes): glibc raises its mmap threshold each time it frees a large mapped
 * block (up to 32 MiB), so after the first burst every large buffer (socket reads, bodies, MB-long
 * SSE lines) comes from the arenas, whose freed pages stay resident in between live ones. Setting the
 * threshold fixes it: blocks from this size on are mapped and go back to the OS when freed.
 */
static napi_value MmapThreshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t bytes = 0;
  napi_value out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_int32(env, argv[0], &bytes);
#if defined(__GLIBC__)
  napi_get_boolean(env, bytes > 0 && mallopt(M_MMAP_THRESHOLD, bytes) == 1, &out);
#else
  napi_get_null(env, &out);
#endif
  return out;
}

/* pressure.cc: v8::Isolate::MemoryPressureNotification(level), level 0 none, 1 moderate, 2 critical */
napi_value CordonPressure(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "mmapThreshold", NAPI_AUTO_LENGTH, MmapThreshold, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "mmapThreshold", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "pressure", NAPI_AUTO_LENGTH, CordonPressure, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "pressure", fn) != napi_ok) return NULL;
  return exports;
}
