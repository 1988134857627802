# Sourced by the install tests (bash): `check "what" command...` runs the command and counts it as passed or failed,
# printing `ok: what` or `FAILED: what`; `report NAME` prints `NAME: P passed, F failed` and fails when any failed.
passed=0
failed=0

check() { # check "what" command...
  local what=$1
  shift
  if "$@"; then
    echo "  ok: $what"
    passed=$((passed + 1))
  else
    echo "  FAILED: $what"
    failed=$((failed + 1))
  fi
}

report() { # report NAME [suffix]
  echo "$1: $passed passed, $failed failed${2:-}"
  [ "$failed" -eq 0 ]
}
