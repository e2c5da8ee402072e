import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * One error for every reason a sealed secret does not open (wrong key, wrong
 * binding, tampering, bad format): callers never get garbage back and have a
 * single case to handle.
 */
export class SealedSecretError extends Error {
  readonly code = 'SEALED_SECRET_INVALID';

  constructor(options?: { cause?: unknown }) {
    super('The sealed TOTP secret cannot be opened: the secret option is not the one it was sealed with, or the stored record was altered.', options);
    this.name = 'SealedSecretError';
  }
}

export interface SecretBox {
  /** `v1.<iv>.<ciphertext>.<tag>`, each part base64url. */
  seal(plain: string, binding: string): string;
  open(sealed: string, binding: string): string;
}

/**
 * What a sealed secret is bound to. JSON rather than `user:device`, so that no
 * pair of ids that contain the separator can stand for another pair.
 */
export function totpSecretBinding(userId: string, deviceId: string): string {
  return JSON.stringify([userId, deviceId]);
}

/**
 * Encryption at rest for TOTP secrets, which (unlike codes) must be read back
 * and so cannot be hashed. The key is derived from the master secret for this
 * purpose alone, once per box, so the master secret is never used as an AES
 * key and other uses of it stay independent. The binding is authenticated
 * data: a sealed secret copied to another user's or device's record fails to
 * open.
 */
export function createSecretBox(masterSecret: string | Buffer): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', masterSecret, 'express-mfa', 'totp-secret v1', 32));

  return {
    seal(plain, binding) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(binding, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${VERSION}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    },

    open(sealed, binding) {
      const [version, iv, ciphertext, tag, ...rest] = sealed.split('.');
      if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
        throw new SealedSecretError();
      }
      const [ivBytes, ciphertextBytes, tagBytes] = [iv, ciphertext, tag].map(decodeCanonical);
      if (ivBytes?.length !== IV_BYTES || !ciphertextBytes || tagBytes?.length !== TAG_BYTES) throw new SealedSecretError();
      try {
        const decipher = createDecipheriv(CIPHER, key, ivBytes, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(binding, 'utf8'));
        decipher.setAuthTag(tagBytes);
        return Buffer.concat([decipher.update(ciphertextBytes), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SealedSecretError({ cause });
      }
    },
  };
}

/** Node's base64url decoder skips characters it does not know; an altered encoding must not open as if it were the original. */
function decodeCanonical(part: string): Buffer | undefined {
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}
