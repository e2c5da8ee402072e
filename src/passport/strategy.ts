import { Strategy } from 'passport-strategy';
import type { Strategy as PassportStrategy, StrategyCreatedStatic } from 'passport';

// The base class typed as @types/passport types it, not by @types/passport-strategy:
// the published declarations then name only the peers' types, which the app has.
const Base: new () => PassportStrategy & StrategyCreatedStatic = Strategy;

/** What the verify function decides: a user to log in, or a failure to show. */
export type MfaVerifyResult =
  | { user: unknown; info: MfaSuccessInfo }
  | { failure: { error: Error }; status: number };

export interface MfaSuccessInfo {
  userId: string;
  amr: string[];
  /** 'recovery': a recovery code (the field `recoveryCode`) answered the pending sign-on instead of a device. */
  purpose: 'signon' | 'stepup' | 'pairing' | 'recovery';
}

/** The request as Passport hands it to a strategy (Express's, through Passport's own types). */
type StrategyRequest = Parameters<PassportStrategy['authenticate']>[0];

export type MfaVerify = (req: StrategyRequest, options: { purpose?: string }) => Promise<MfaVerifyResult>;

/**
 * The second step as a Passport strategy: it answers the one-time passcode
 * of the pending sign-on. A wrong, expired or spent code ends in `fail`; a
 * store or mail outage ends in `error`, so that it is never mistaken for a
 * wrong code, and never for a right one.
 */
export class MfaStrategy extends Base {
  override readonly name = 'mfa';

  constructor(private readonly verify: MfaVerify) {
    super();
  }

  override authenticate(req: StrategyRequest, options: { purpose?: string } = {}): void {
    this.verify(req, options).then(
      (result) => ('user' in result ? this.success(result.user as Express.User, result.info) : this.fail(result.failure, result.status)),
      (error: Error) => this.error(error),
    );
  }
}
