// V8's own memory-pressure hint (what Chrome sends when the system runs low), for the governor's
// ladder: kCritical makes V8 collect now with its reduce-memory flag (compacting fragmented pages,
// shrinking the new space, releasing pooled pages), and keeps it preferring a small heap until
// kNone. A plain gc() does none of the shrinking: after a flood the new space and half-empty
// old-space pages stayed committed, and RSS stayed above the line to leave warning.
#include <node_api.h>
#include <v8.h>

extern "C" napi_value CordonPressure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t level = 0;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 1) napi_get_value_int32(env, argv[0], &level);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  napi_value out;
  if (isolate == nullptr || level < 0 || level > 2) {
    napi_get_boolean(env, false, &out);
    return out;
  }
  isolate->MemoryPressureNotification(static_cast<v8::MemoryPressureLevel>(level));
  napi_get_boolean(env, true, &out);
  return out;
}
