/**
 * Loads the native addon lazily (the generated `binding.js` at the package root) and re-exports the contract types.
 * Nothing here runs at import time, so the TypeScript layers work (and are tested) without the addon.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

import type { NativeOpen } from './native-types'

export type {
  NativeBatch,
  NativeConfig,
  NativeOpen,
  NativePeerEvent,
  NativeStats,
  NativeTransport,
} from './native-types'

/** What the generated `binding.js` exports (the part we use). */
interface Binding {
  NativeEndpoint: { open: NativeOpen }
}

let cached: NativeOpen | undefined

/**
 * Where `binding.js` sits: the package root, which is two levels up from `src/transport/` when run from source and
 * three levels up from `dist/src/transport/` when compiled.
 */
export function bindingPath(): string {
  const candidates = [join(__dirname, '..', '..', 'binding.js'), join(__dirname, '..', '..', '..', 'binding.js')]
  const found = candidates.find((candidate) => existsSync(candidate))
  if (found === undefined) {
    throw new Error(
      `glue: the native addon is not built (no binding.js in ${candidates.join(' or ')}); ` +
        'run `npm run build:native` (needs Rust) or reinstall the package',
    )
  }
  return found
}

/**
 * The native `open` function, loaded on first use.
 * @throws Error when binding.js or the `.node` file for this platform cannot be loaded
 */
export function loadNative(): NativeOpen {
  if (cached === undefined) {
    const path = bindingPath()
    let binding: Binding
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require(path) as Binding
    } catch (err) {
      // No prebuilt platform package fits, and the install script did not build one (npm skipped it, e.g. because
      // allowScripts does not allow it): say what to do (README, "Prebuilt binaries").
      throw new Error(
        `glue: no native binary loads on ${process.platform}-${process.arch} (${err instanceof Error ? err.message.split('\n')[0] : String(err)}). ` +
          'No prebuilt glue-pubsub-<platform> package fits, or it did not install; the install script builds one from ' +
          'source when npm runs it: `npm install-scripts approve glue-pubsub` and reinstall, or run ' +
          `\`node ${join(dirname(path), 'scripts', 'install-native.js')}\` (needs Rust)`,
        { cause: err },
      )
    }
    const { NativeEndpoint } = binding
    cached = (config, onBatch) => NativeEndpoint.open(config, onBatch)
  }
  return cached
}

/** True when the native addon can be loaded (used to skip integration tests before it is built). */
export function isNativeAvailable(): boolean {
  try {
    loadNative()
    return true
  } catch {
    return false
  }
}
