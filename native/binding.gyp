{
  "targets": [
    {
      "target_name": "cordon_trim",
      "sources": ["trim.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
