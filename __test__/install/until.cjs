// The wait of the install tests' apps (app.cjs, native-smoke.cjs), copied next to them: an event-driven check
// polled until it holds, with a deadline (never a fixed wait).
'use strict'

/** Resolves when `check()` is true (checked every 20 ms); rejects naming `what` after `deadlineMs`. */
async function until(what, check, deadlineMs) {
  const end = Date.now() + deadlineMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

module.exports = { until }
