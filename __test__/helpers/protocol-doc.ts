/**
 * The test vectors of docs/PROTOCOL.md: fenced blocks "```<fence> <name>" of hex bytes, `#` starting a comment.
 * ("```hex" blocks are datagrams checked by crates/glue-proto/tests/vectors.rs, "```topic-hex" blocks topic
 * messages checked by the ava tests.)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The blocks fenced with `fence`, by name. */
export function protocolVectors(fence: string): Map<string, Buffer> {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'PROTOCOL.md'), 'utf8')
  const out = new Map<string, Buffer>()
  const pattern = new RegExp(`^\`\`\`${fence} (\\S+)\\n([\\s\\S]*?)^\`\`\``, 'gm')
  for (const [, name, body] of doc.matchAll(pattern)) {
    out.set(name, Buffer.from(body.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'))
  }
  return out
}
