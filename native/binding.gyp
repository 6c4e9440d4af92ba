{
  "targets": [
    {
      "target_name": "cordon_trim",
      "sources": ["trim.c", "pressure.cc"],
      "cflags_cc": ["-O2", "-Wall"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
