/**
 * Datagrams built by hand from docs/PROTOCOL.md, as an attacker (or a buggy implementation) on the segment would
 * send them, and a socket to send them from and to capture what the endpoints multicast. Loopback only.
 */
import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'

/** Submessage kinds. */
export const Kind = { ANNOUNCE: 0x01, BYE: 0x02, DATA: 0x10, RDATA: 0x11, HEARTBEAT: 0x12, ACK: 0x13 } as const

const u16 = (v: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(v)
  return b
}
const u32 = (v: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v >>> 0)
  return b
}
const u64 = (v: bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt.asUintN(64, v))
  return b
}

/** The 16-byte plain header: "GL", version 1, flags 0, network ID, source ID (16 hex digits). */
export function header(networkId: number, source: string): Buffer {
  return Buffer.concat([Buffer.from([0x47, 0x4c, 1, 0]), u32(networkId), u64(BigInt(`0x${source}`))])
}

/** One submessage: kind, flags, body length, body. */
export function sub(kind: number, flags: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([kind, flags]), u16(body.length), body])
}

/** A whole plain datagram. */
export function datagram(networkId: number, source: string, ...subs: Buffer[]): Buffer {
  return Buffer.concat([header(networkId, source), ...subs])
}

/** An ANNOUNCE, with extension records (type-length-value) if given. */
export function announce(port: number, name: string, periodMs: number, incarnation: number, ext = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name)
  const body = Buffer.concat([u16(port), Buffer.from([n.length, 0]), u32(periodMs), u32(incarnation), n, ext])
  return sub(Kind.ANNOUNCE, 0, body)
}

/** The announcement extension of an interest summary that wants every topic (flag 01). */
export const WANTS_EVERYTHING = Buffer.from([0x10, 13, 0, 1, 1, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0])

/** The submessages (kind, flags, body) of a plain datagram. */
export function submessages(d: Buffer): { kind: number; flags: number; body: Buffer }[] {
  const out: { kind: number; flags: number; body: Buffer }[] = []
  for (let at = 16; at + 4 <= d.length; ) {
    const length = d.readUInt16LE(at + 2)
    out.push({ kind: d[at], flags: d[at + 1], body: d.subarray(at + 4, at + 4 + length) })
    at += 4 + length
  }
  return out
}

/** A DATA submessage (best effort), flagged broadcast or not. */
export function data(seq: number, payload: Uint8Array, broadcast = false): Buffer {
  return sub(Kind.DATA, broadcast ? 1 : 0, Buffer.concat([u32(seq), payload]))
}

/** An unfragmented RDATA (FIRST|LAST), on the unicast or multicast channel. */
export function rdata(seq: bigint, payload: Uint8Array, multicast = false): Buffer {
  return sub(Kind.RDATA, 0x06 | (multicast ? 1 : 0), Buffer.concat([u64(seq), payload]))
}

/** A HEARTBEAT (flags: 1 multicast channel, 2 direct). */
export function heartbeat(first: bigint, next: bigint, flags = 0): Buffer {
  return sub(Kind.HEARTBEAT, flags, Buffer.concat([u64(first), u64(next)]))
}

/** An ACK without ranges (flags: 1 multicast channel, 2 sync). */
export function ack(next: bigint, top: bigint, flags = 0, window = 4096): Buffer {
  return sub(Kind.ACK, flags, Buffer.concat([u64(next), u64(top), u32(window), u32(0), u16(0), u16(0)]))
}

/** A BYE. */
export function bye(): Buffer {
  return sub(Kind.BYE, 0)
}

/** A random endpoint ID. */
export function randomId(): string {
  return randomBytes(8).toString('hex')
}

/** "ip:port" → [ip, port]. */
export function split(address: string): [string, number] {
  const at = address.lastIndexOf(':')
  return [address.slice(0, at), Number(address.slice(at + 1))]
}

/** The attacker's socket on loopback: sends anything anywhere on 127.0.0.1, and can capture a group's traffic. */
export class Attacker {
  readonly socket: Socket
  readonly captured: Buffer[] = []
  #capture: Socket | undefined

  private constructor(socket: Socket) {
    this.socket = socket
  }

  static async open(): Promise<Attacker> {
    const socket = createSocket({ type: 'udp4' })
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    socket.setMulticastInterface('127.0.0.1')
    socket.setMulticastLoopback(true)
    return new Attacker(socket)
  }

  /** This socket's port (the source port of what it sends). */
  get port(): number {
    return this.socket.address().port
  }

  /** Sends one datagram to "ip:port"; resolves once the kernel took it. */
  send(to: string, bytes: Uint8Array): Promise<void> {
    const [host, port] = split(to)
    return new Promise((resolve, reject) => this.socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())))
  }

  /** Starts recording every datagram sent to `group` ("ip:port") on loopback. */
  async capture(group: string): Promise<void> {
    const [host, port] = split(group)
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    await new Promise<void>((resolve) => socket.bind(port, host, resolve))
    socket.addMembership(host, '127.0.0.1')
    socket.on('message', (msg) => this.captured.push(Buffer.from(msg)))
    this.#capture = socket
  }

  /** Stops recording. */
  stopCapture(): void {
    this.#capture?.close()
    this.#capture = undefined
  }

  close(): void {
    this.stopCapture()
    this.socket.close()
  }
}
