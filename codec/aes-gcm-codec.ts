// AES-256-GCM payload codec. A payload is serialised whole (metadata + data, protobuf) and encrypted
// with the keyring's current key under a fresh 96-bit nonce; the result is a payload with
//   metadata.encoding          = "binary/encrypted"
//   metadata.encryption-key-id = <key id>      (decrypt picks the key by it: rotation-safe)
//   data                       = nonce(12) || ciphertext || tag(16)
// and the key id as associated data, so a payload cannot be passed off as written by another key.
// Payloads without that encoding pass through decode unchanged: histories recorded before the codec
// (test/replay/histories/) and payloads from clients without it still read.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Keyring } from './keyring.ts';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';

const PayloadProto = proto.temporal.api.common.v1.Payload;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A decode failure: the payload cannot be decrypted here (unknown key, tampered or truncated data). */
export class CodecError extends Error {
  override name = 'CodecError';
}

function utf8(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes).toString('utf8') : '';
}

export function isEncrypted(payload: Payload): boolean {
  return utf8(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

/** The key id an encrypted payload was written with (undefined for a clear payload). */
export function keyIdOf(payload: Payload): string | undefined {
  return isEncrypted(payload) ? utf8(payload.metadata?.[KEY_ID_METADATA]) : undefined;
}

export class AesGcmCodec implements PayloadCodec {
  constructor(readonly ring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  encrypt(payload: Payload): Payload {
    const { id, key } = this.ring.current;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(id));
    const clear = PayloadProto.encode(payload).finish();
    const data = Buffer.concat([nonce, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(id),
        [CIPHER_METADATA]: Buffer.from(CIPHER),
      },
      data,
    };
  }

  decrypt(payload: Payload): Payload {
    const id = keyIdOf(payload);
    if (!id) throw new CodecError(`encrypted payload without ${KEY_ID_METADATA} metadata`);
    const entry = this.ring.keys.get(id);
    if (!entry) {
      throw new CodecError(`payload encrypted with key "${id}", which is not in this keyring (${[...this.ring.keys.keys()].join(', ')}): add it to CEDILLE_CODEC_KEYS`);
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new CodecError(`encrypted payload (key ${id}) is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, data.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let clear: Buffer;
    try {
      clear = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecError(`payload encrypted with key "${id}" does not authenticate: wrong key material or tampered data`);
    }
    const decoded = PayloadProto.decode(clear);
    return { metadata: decoded.metadata ?? {}, data: decoded.data };
  }
}
